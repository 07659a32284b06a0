// swarmctl rollout start | plan | list | status | watch | pause | resume | abort, and updater self-update (a rollout
// of the updaters' own code): bodies from flags, answers checked with the shared schemas, the live view to follow one.
import type { Command } from 'commander';
import { z } from 'zod';
import { UsageError } from '../../shared/cli.js';
import { RolloutPlanSchema, RolloutSchema, RolloutSummarySchema, type RolloutJson } from '../../shared/rollout-api.js';
import { formatAmount } from '../../shared/rollout-strategy.js';
import { painter } from '../../shared/terminal.js';
import { cliError } from '../errors.js';
import { followRollout } from '../follow.js';
import { formatEventLine, renderRolloutView, rolloutExitCode, summaryLine } from '../live-view.js';
import { printJson, printLine, printTable, relativeTime, shortId } from '../output.js';
import { amountFlag, parseStrategy, parseTargets, STRATEGY_FLAG_DEFAULTS, type StrategyFlags, type TargetFlags } from '../rollout-flags.js';
import { withSession, type CliIo, type Session } from '../session.js';

const enc = encodeURIComponent;
const ID = /^[A-Za-z0-9._-]{1,64}$/;

function checkId(id: string): string {
  if (!ID.test(id)) throw new UsageError(`"${id}" is not a rollout id (see swarmctl rollout list)`);
  return id;
}

function addTargetFlags(cmd: Command): Command {
  return cmd
    .option('--all', 'every enrolled host')
    .option('--hosts <a,b>', 'these hosts (comma-separated names)')
    .option('--selector <k=v,...>', 'hosts whose labels match (K=V and K!=V, comma-separated, all must hold)');
}

function addStrategyFlags(cmd: Command): Command {
  const d = STRATEGY_FLAG_DEFAULTS;
  return cmd
    .option('--canary <n>', 'hosts in the canary wave, updated first and alone (0 for none)', d.canary)
    .option('--batch <n|p%>', 'hosts per wave after the canary: a count or a percentage of the targets', d.batch)
    .option('--max-parallel <n>', 'pushes in flight at once', d.maxParallel)
    .option('--max-failures <n|p%>', 'failed, rolled-back or unreachable hosts allowed before the rollout pauses itself', d.maxFailures)
    .option('--pause-between <duration>', 'wait between one wave\'s end and the next one\'s start (e.g. 10m)', d.pauseBetween)
    .option('--host-deadline <duration>', 'one host\'s push (upload, install, probe, watch window) must end within this', d.hostDeadline);
}

type StartFlags = TargetFlags & StrategyFlags & { wait?: boolean };

function startBody(release: string, opts: StartFlags, kind: 'agent' | 'updater'): Record<string, unknown> {
  if (release.trim() === '' || release.length > 128) throw new UsageError('RELEASE must be a release id, a unique prefix of one (8 hex or more) or a version');
  return { release, targets: parseTargets(opts), strategy: parseStrategy(opts), kind };
}

/**
 * Follow a rollout to done, aborted or paused: redrawn in place on a terminal, one line per event elsewhere, only
 * the final document with --json. Throws (exit 1) unless it ended done with every host succeeded or skipped.
 */
export async function followLive(s: Session, id: string, io: CliIo): Promise<RolloutJson> {
  const out = io.stdout as CliIo['stdout'] & { isTTY?: boolean; columns?: number };
  let final: RolloutJson;
  if (s.options.json) {
    final = await followRollout(s, id, {});
    printJson(io.stdout, final);
  } else if (out.isTTY === true) {
    const paint = painter(out, io.env as NodeJS.ProcessEnv);
    let shown = 0;
    let latest: RolloutJson | undefined;
    const draw = (): void => {
      if (!latest) return;
      const lines = renderRolloutView(latest, Date.now(), paint);
      // Wrapped lines take several rows: count rows, not lines, or the redraw would creep up the screen.
      // eslint-disable-next-line no-control-regex -- colour sequences are not visible width
      const rows = lines.reduce((n, l) => n + Math.max(1, Math.ceil(l.replace(/\u001b\[[0-9;]*m/g, '').length / Math.max(20, out.columns ?? 80))), 0);
      out.write(`${shown > 0 ? `\u001b[${shown}A\r\u001b[J` : ''}${lines.join('\n')}\n`);
      shown = rows;
    };
    // The elapsed time moves even when nothing happens.
    const ticker = setInterval(draw, 1000);
    ticker.unref();
    try {
      final = await followRollout(s, id, { onRollout: (r) => ((latest = r), draw()) });
    } finally {
      clearInterval(ticker);
    }
    latest = final;
    draw();
  } else {
    final = await followRollout(s, id, { onEvent: (e) => out.write(`${formatEventLine(e)}\n`) });
    printLine(io.stdout, summaryLine(final));
  }
  if (rolloutExitCode(final) !== 0) {
    const bad = final.hosts.filter((h) => h.state === 'failed' || h.state === 'rolled-back' || h.state === 'unreachable').length;
    throw cliError('SWARM_ERR_CLI_ROLLOUT_NOT_DONE', `rollout ${id} ${final.state}${final.reason ? ` (${final.reason})` : ''} with ${bad} host(s) failed; see swarmctl rollout status ${id}${final.state === 'paused' ? ` and resume it with swarmctl rollout resume ${id}` : ''}`);
  }
  return final;
}

async function startRollout(release: string, opts: StartFlags, kind: 'agent' | 'updater', cmd: Command, io: CliIo): Promise<void> {
  const body = startBody(release, opts, kind);
  await withSession(cmd, io, async (s) => {
    const r = await s.call({ path: '/v1/rollouts', method: 'POST', body }, RolloutSchema);
    if (opts.wait) {
      if (!s.options.json) printLine(io.stdout, `started rollout ${r.id}`);
      await followLive(s, r.id, io);
      return;
    }
    if (s.options.json) return printJson(io.stdout, r);
    const targets = r.hosts.filter((h) => h.state !== 'skipped').length;
    printLine(io.stdout, `started rollout ${r.id}: ${kind === 'updater' ? 'updater ' : ''}${r.version} (${shortId(r.release)}) to ${targets} host(s) in ${r.waves.length} wave(s)`);
    printLine(io.stdout, `follow it: swarmctl rollout watch ${r.id}`);
  });
}

export function registerRolloutCommands(program: Command, io: CliIo): void {
  const rollout = program.command('rollout').description('send a release to hosts by strategy: canary, waves, failure budget; follow, pause, resume, abort');

  addStrategyFlags(addTargetFlags(rollout.command('start <release>')))
    .description('start a rollout of RELEASE (an id, a unique prefix of 8+ hex, or a version) to the chosen hosts')
    .option('--wait', 'follow it live until it ends (exit 0 only when every host succeeded or was skipped)')
    .action(async (release: string, opts: StartFlags, cmd: Command) => startRollout(release, opts, 'agent', cmd, io));

  addStrategyFlags(addTargetFlags(rollout.command('plan <release>')))
    .description('print the waves a rollout would have; changes nothing')
    .action(async (release: string, opts: StartFlags, cmd: Command) => {
      const body = startBody(release, opts, 'agent');
      await withSession(cmd, io, async (s) => {
        const p = await s.call({ path: '/v1/rollouts/plan', method: 'POST', body }, RolloutPlanSchema);
        if (s.options.json) return printJson(io.stdout, p);
        const total = p.waves.reduce((n, w) => n + w.length, 0);
        printLine(io.stdout, `plan: ${p.version} (${shortId(p.release)}) to ${total} host(s) in ${p.waves.length} wave(s); pauses itself past ${p.budget} failure(s)`);
        p.waves.forEach((w, i) => printLine(io.stdout, `wave ${i}${i === 0 && p.strategy.canary > 0 ? ' (canary)' : ''}: ${w.join(', ')}`));
        if (p.skipped.length > 0) printLine(io.stdout, `skipped (already on it): ${p.skipped.join(', ')}`);
        printLine(io.stdout, 'nothing was changed; start it with swarmctl rollout start and the same arguments');
      });
    });

  rollout.command('list')
    .description('rollouts, newest first: state, release, progress, failures')
    .action(async (_opts: unknown, cmd: Command) => {
      await withSession(cmd, io, async (s) => {
        const list = await s.call({ path: '/v1/rollouts' }, z.array(RolloutSummarySchema));
        if (s.options.json) return printJson(io.stdout, list);
        const now = Date.now();
        const rows = [...list].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map((r) => {
          const hosts = r.waves.reduce((n, w) => n + w.hosts, 0);
          const done = r.waves.reduce((n, w) => n + w.done, 0);
          return [r.id, r.state, r.reason, r.kind, `${r.version} ${shortId(r.release)}`, `${done}/${hosts}`, `${r.budget.used}/${r.budget.allowed}`, r.createdBy.replace(/^spiffe:\/\/[^/]+\//, ''), relativeTime(r.createdAt, now)];
        });
        printTable(io.stdout, ['ID', 'STATE', 'REASON', 'KIND', 'RELEASE', 'DONE', 'FAILURES', 'BY', 'CREATED'], rows);
      });
    });

  rollout.command('status <id>')
    .description('one rollout: header, waves, every host with its state and error, recent events')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      checkId(id);
      await withSession(cmd, io, async (s) => {
        const r = await s.call({ path: `/v1/rollouts/${enc(id)}` }, RolloutSchema);
        if (s.options.json) return printJson(io.stdout, r);
        const paint = painter(io.stdout, io.env as NodeJS.ProcessEnv);
        for (const line of renderRolloutView(r, Date.now(), paint)) io.stdout.write(`${line}\n`);
        printLine(io.stdout, '');
        printTable(io.stdout, ['HOST', 'WAVE', 'STATE', 'FROM', 'ERROR'], r.hosts.map((h) => [h.name, h.wave, h.state, shortId(h.from), h.error ? `${h.error.code}: ${h.error.message}` : null]));
        const recent = r.events.slice(-10);
        if (recent.length > 0) {
          printLine(io.stdout, '');
          printLine(io.stdout, `events (last ${recent.length} of ${r.events.length}):`);
          for (const e of recent) io.stdout.write(`  ${formatEventLine(e)}\n`);
        }
      });
    });

  rollout.command('watch <id>')
    .description('follow a rollout live until it is done, paused or aborted (exit 0 only when every host succeeded or was skipped)')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      checkId(id);
      await withSession(cmd, io, async (s) => {
        await followLive(s, id, io);
      });
    });

  const action = (verb: 'pause' | 'abort', description: string): void => {
    rollout.command(`${verb} <id>`)
      .description(description)
      .action(async (id: string, _opts: unknown, cmd: Command) => {
        checkId(id);
        await withSession(cmd, io, async (s) => {
          const r = await s.call({ path: `/v1/rollouts/${enc(id)}/${verb}`, method: 'POST', body: {} }, RolloutSchema);
          if (s.options.json) return printJson(io.stdout, r);
          const inFlight = r.hosts.filter((h) => h.state === 'pushing').length;
          printLine(io.stdout, `rollout ${r.id} ${r.state}${r.reason ? ` (${r.reason})` : ''}${inFlight > 0 ? `; ${inFlight} push(es) in flight finish and are recorded` : ''}`);
        });
      });
  };
  action('pause', 'pause a rollout: nothing new starts; pushes in flight finish and are recorded');

  rollout.command('resume <id>')
    .description('resume a paused rollout (after a canary failure, this accepts the canary)')
    .option('--max-failures <n|p%>', 'a new failure budget (counted from the start of the rollout)')
    .action(async (id: string, opts: { maxFailures?: string }, cmd: Command) => {
      checkId(id);
      const body = opts.maxFailures === undefined ? {} : { maxFailures: amountFlag(opts.maxFailures, '--max-failures') };
      await withSession(cmd, io, async (s) => {
        const r = await s.call({ path: `/v1/rollouts/${enc(id)}/resume`, method: 'POST', body }, RolloutSchema);
        if (s.options.json) return printJson(io.stdout, r);
        printLine(io.stdout, `rollout ${r.id} ${r.state}; failure budget ${formatAmount(r.strategy.maxFailures)} (${r.budget.used} of ${r.budget.allowed} used)`);
      });
    });

  action('abort', 'abort a rollout for good: nothing new starts; pushes in flight finish and are recorded');

  const updater = program.command('updater').description('the updaters\' own code');
  addStrategyFlags(addTargetFlags(updater.command('self-update <release>')))
    .description('replace the updaters\' own code with RELEASE, as a rollout (kind updater): canary, waves and budget as rollout start')
    .option('--wait', 'follow it live until it ends')
    .action(async (release: string, opts: StartFlags, cmd: Command) => startRollout(release, opts, 'updater', cmd, io));
}
