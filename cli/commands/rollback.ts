// swarmctl rollback: the incident path. Pauses the rollouts that target the hosts, brings every selected host back
// to its previous release in parallel (at the controller), and reports host by host.
import type { Command } from 'commander';
import { LIMITS } from '../../shared/limits.js';
import { FleetRollbackReportSchema } from '../../shared/rollout-api.js';
import { cliError } from '../errors.js';
import { printJson, printLine, printTable, shortId } from '../output.js';
import { parseRollbackTargets, type RollbackFlags } from '../rollout-flags.js';
import { withSession, type CliIo } from '../session.js';

export function registerRollbackCommand(program: Command, io: CliIo): void {
  program.command('rollback [hosts...]')
    .description('roll hosts back to their previous release, in parallel: first pauses every running rollout that targets them (reason rollback), then reports each host')
    .option('--all', 'every enrolled host')
    .option('--selector <k=v,...>', 'hosts whose labels match')
    .option('--rollout <id>', 'exactly the hosts that rollout changed, back to what each ran before it')
    .option('--parallel <n>', 'hosts rolled back at once (default: the controller\'s)')
    .option('--wait', 'wait for every host\'s outcome (always done: the report comes when every host has answered)')
    .action(async (hosts: string[], opts: RollbackFlags & { wait?: boolean }, cmd: Command) => {
      const body = parseRollbackTargets(hosts, opts);
      await withSession(cmd, io, async (s) => {
        const report = await s.call({ path: '/v1/rollback', method: 'POST', body, timeoutMs: LIMITS['cli.rollback-timeout'].value }, FleetRollbackReportSchema);
        if (s.options.json) printJson(io.stdout, report);
        else {
          if (report.pausedRollouts.length > 0) printLine(io.stdout, `paused first (reason rollback): ${report.pausedRollouts.join(', ')}`);
          printTable(io.stdout, ['HOST', 'STATE', 'RELEASE', 'ERROR'], report.hosts.map((h) => [h.name, h.state, shortId(h.release), h.error ? `${h.error.code}: ${h.error.message}` : null]));
        }
        const back = report.hosts.filter((h) => h.state === 'rolled-back').length;
        if (!s.options.json) printLine(io.stdout, `rolled back ${back} of ${report.hosts.length} host(s)`);
        if (back !== report.hosts.length) {
          const bad = report.hosts.filter((h) => h.state !== 'rolled-back');
          throw cliError('SWARM_ERR_CLI_ROLLBACK_INCOMPLETE', `${bad.length} host(s) not rolled back (${bad.slice(0, 5).map((h) => `${h.name} ${h.state}`).join(', ')}${bad.length > 5 ? ', ...' : ''}); see the report, and on a host swarm-updater status`);
        }
      });
    });
}
