#!/usr/bin/env node
// swarm-updater: run (the host's updater daemon), status and rollback (local, controller down), join (enrollment).
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { addExamples, collect, CONTROLLER_LIST_HELP, createProgram, exitQuietlyOnClosedPipe, parseHostPort, parseOptions, runCli, UsageError, type Command } from '../shared/cli.js';
import { DEFAULT_CONTROLLER_URL, DEFAULT_INSTALL_DIR, DEFAULT_LISTEN, DEFAULT_PKI_DIR, DEFAULT_PORTS, EXAMPLE_CONTROLLER_URL, formatListen } from '../shared/defaults.js';
import { HttpsUrlListSchema, httpsUrlList } from '../shared/https-url.js';
import { createLogger } from '../shared/logger.js';
import { LIMITS } from '../shared/limits.js';
import { trapSignals } from '../shared/server-kit.js';
import { escapeUnsafeChars, printableString } from '../shared/printable.js';
import type { UpdaterStatus } from '../shared/wire.js';
import { loadUpdaterConfig, type ConfigFlags } from './config.js';
import { RELEASE_QUERY } from './install/bad-marks.js';
import { hostPaths } from './paths.js';
// Each command loads only what it needs (the daemon's memory is a budget; `join` pulls in the CSR code).

const CommonSchema = z.object({
  installDir: z.string().min(1).optional(),
  pkiDir: z.string().min(1).optional(),
  config: z.string().min(1).optional(),
  json: z.boolean().optional(),
});

const RunSchema = CommonSchema.extend({
  listen: z.string().optional(),
  agentPort: z.string().regex(/^\d{1,5}$/, { message: 'must be a port number' }).optional(),
  restart: z.enum(['systemd', 'spawn']).optional(),
  // Checked here, like join's: a wrong scheme is bad usage (exit 2), not a failure found later.
  controller: HttpsUrlListSchema.optional(),
  supervise: z.boolean().optional(),
});

const JoinSchema = z.object({
  // https only: the join token must never travel in clear.
  controller: httpsUrlList('the join token must not travel in clear'),
  token: z.string().min(1).optional(),
  tokenFile: z.string().min(1).optional(),
  caHash: z.string().regex(/^sha256:[0-9a-fA-F]{64}$/, { message: 'must be sha256:<64 hex digits>' }),
  pkiDir: z.string().min(1).optional(),
});

function flagsOf(o: z.output<typeof RunSchema> | z.output<typeof CommonSchema>): ConfigFlags {
  const r = o as z.output<typeof RunSchema>;
  return {
    ...(o.installDir ? { installDir: o.installDir } : {}),
    ...(o.pkiDir ? { pkiDir: o.pkiDir } : {}),
    ...(r.listen ? { listen: parseHostPort(r.listen, '--listen') } : {}),
    ...(r.agentPort ? { agentPort: Number(r.agentPort) } : {}),
    ...(r.restart ? { restart: r.restart } : {}),
    ...(r.controller ? { controller: r.controller } : {}),
  };
}

function addLocalOptions(cmd: Command): Command {
  return cmd
    .option('--install-dir <dir>', `install directory (default ${DEFAULT_INSTALL_DIR})`)
    .option('--pki-dir <dir>', `PKI directory (default ${DEFAULT_PKI_DIR})`)
    .option('--config <file>', 'JSON config file (flags override it)')
    .option('--json', 'print one JSON document');
}

export function buildProgram(argv: readonly string[], setExitCode: (code: number) => void): Command {
  const program = createProgram('swarm-updater', 'Install, switch, probe and roll back releases on this host.');

  addLocalOptions(program.command('run').description('run the updater: HTTPS API (mTLS), agent supervision, recovery'))
    .option('--listen <host:port>', `listen address (default ${formatListen(DEFAULT_LISTEN.updater)})`)
    .option('--agent-port <n>', `port of the local agent (default ${DEFAULT_PORTS.agent})`)
    .option('--restart <mode>', 'how to restart the agent: systemd or spawn (default: detect)')
    .option('--controller <url>', `controller URL, passed to the agent; ${CONTROLLER_LIST_HELP}`, collect)
    .option('--supervise', 'run as the supervisor of the updater worker (needed for self-update; the systemd unit uses it)')
    .action(async (raw: unknown) => {
      const o = parseOptions(RunSchema, raw);
      const config = await loadUpdaterConfig(o.config, flagsOf(o));
      const logger = createLogger({ name: 'swarm-updater' });
      if (o.supervise) {
        const { runSupervisor } = await import('./supervisor.js');
        const at = argv.indexOf('run');
        const stop = new AbortController();
        // The first SIGTERM/SIGINT stops the worker and then the supervisor; a second one quits at once.
        void trapSignals({ afterStop: 'default' }).stopped.then(() => stop.abort());
        setExitCode(await runSupervisor({
          paths: hostPaths(config.installDir), baseCommand: [process.execPath, fileURLToPath(import.meta.url)],
          workerArgs: argv.slice(at + 1).filter((a) => a !== '--supervise'), deadlineMs: config.selfUpdate.deadlineMs, logger: logger.child({ role: 'supervisor' }), stopSignal: stop.signal,
        }));
        return;
      }
      const { runDaemon } = await import('./daemon.js');
      setExitCode(await runDaemon(config, logger));
    });

  addLocalOptions(program.command('status').description('show active and prev releases, the last operation and agent health (local)'))
    .option('--agent-port <n>', 'port of the local agent, as given to run (default: the config file\'s, else 8765)')
    .action(async (raw: unknown) => {
      const o = parseOptions(CommonSchema.extend({ agentPort: RunSchema.shape.agentPort }), raw);
      const config = await loadUpdaterConfig(o.config, flagsOf(o));
      const { readLocalStatus } = await import('./local.js');
      const local = await readLocalStatus(config, createLogger({ name: 'swarm-updater', level: 'warn' }));
      const { readLinkState } = await import('./link-state.js');
      const link = await readLinkState(hostPaths(config.installDir).link);
      process.stdout.write(o.json ? `${JSON.stringify({ ...local.status, link: link ?? null }, null, 2)}\n` : formatStatus(local.status, local.agentProbe) + formatLink(link));
    });

  addLocalOptions(program.command('rollback').description('roll this host back to its previous good release (local, controller down); the release left is not marked bad'))
    .option('--restart <mode>', 'systemd or spawn (default: detect)')
    .option('--reason <text>', 'why (a drill, an incident): kept in the operation record, one printable line')
    .action(async (raw: unknown) => {
      const o = parseOptions(CommonSchema.extend({
        restart: z.enum(['systemd', 'spawn']).optional(),
        reason: printableString(LIMITS['updater.rollback.reason-chars'].value).min(1).optional(),
      }), raw);
      const config = await loadUpdaterConfig(o.config, { ...flagsOf(o), ...(o.restart ? { restart: o.restart } : {}) });
      const { rollbackLocally } = await import('./local.js');
      const record = await rollbackLocally(config, createLogger({ name: 'swarm-updater', level: 'warn' }), process.env, o.reason ? { reason: o.reason } : {});
      if (o.json) process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
      else process.stdout.write(`rollback ${record.id}: ${record.state}; active ${record.to?.dir ?? '-'} (was ${record.from?.dir ?? '-'})${record.error ? ` (${record.error.message})` : ''}\n`);
      if (record.state !== 'rolled-back') setExitCode(1);
    });

  addLocalOptions(program.command('unmark-bad').description('clear the bad mark of a release on this host, so it can be installed again (local)'))
    .argument('<release>', 'the release id, or a unique prefix of at least 8 hex digits')
    .action(async (release: string, raw: unknown) => {
      const o = parseOptions(CommonSchema, raw);
      if (!RELEASE_QUERY.test(release)) throw new UsageError(`RELEASE must be a release id or a prefix of at least 8 lowercase hex digits (got ${JSON.stringify(escapeUnsafeChars(release))})`);
      const config = await loadUpdaterConfig(o.config, flagsOf(o));
      const { unmarkBadLocally } = await import('./local.js');
      const mark = await unmarkBadLocally(config, createLogger({ name: 'swarm-updater', level: 'warn' }), release);
      process.stdout.write(o.json ? `${JSON.stringify({ id: mark.id, bad: false }, null, 2)}\n` : `${escapeUnsafeChars(`release ${mark.id} is no longer marked bad (it was: ${mark.reason})`)}\n`);
    });

  program.command('join').description(`enroll this host with a join token (as root: it writes ${DEFAULT_PKI_DIR})`)
    .requiredOption('--controller <url>', `controller URL; ${CONTROLLER_LIST_HELP} (join uses the first that answers)`, collect)
    .option('--token-file <file>', 'file holding the join token from `swarmctl host add`; - reads it from standard input')
    .option('--token <token>', 'the join token itself: every local user can read it in the process list while join runs; prefer --token-file - or SWARM_JOIN_TOKEN')
    .requiredOption('--ca-hash <sha256:hex>', 'pinned CA fingerprint')
    .option('--pki-dir <dir>', `PKI directory (default ${DEFAULT_PKI_DIR})`)
    .addHelpText('after', '\nThe token may also come from the SWARM_JOIN_TOKEN environment variable (give it one way only).\nExample: echo TOKEN | sudo swarm-updater join --controller URL --ca-hash sha256:HEX --token-file -\n')
    .option('--json', 'print one JSON document')
    .action(async (raw: unknown) => {
      const o = parseOptions(JoinSchema, raw);
      const { readJoinToken, JOIN_TOKEN_ENV } = await import('./join-token.js');
      const token = await readJoinToken({ token: o.token, tokenFile: o.tokenFile, env: process.env[JOIN_TOKEN_ENV], stdin: process.stdin });
      const { joinCluster } = await import('./join.js');
      const r = await joinCluster({ controllerUrl: o.controller, token, caHash: o.caHash, pkiDir: o.pkiDir ?? DEFAULT_PKI_DIR });
      if ((raw as { json?: unknown }).json === true) process.stdout.write(`${JSON.stringify({ cluster: r.cluster, name: r.name }, null, 2)}\n`);
      else process.stdout.write(`joined cluster ${r.cluster} as ${r.name}\n`);
    });
  addExamples(program, UPDATER_EXAMPLES);
  return program;
}

/** The Examples section of each command's help. */
const UPDATER_EXAMPLES: Record<string, readonly string[]> = {
  '': ['swarm-updater status', 'swarm-updater run --supervise'],
  join: [`sudo swarm-updater join --controller ${EXAMPLE_CONTROLLER_URL} --token-file /root/sensor-a.token --ca-hash sha256:<64 hex>`],
  run: [
    'swarm-updater run --supervise        # under systemd (the unit does this)',
    `swarm-updater run --install-dir ./opt --pki-dir ./pki --restart spawn --controller ${DEFAULT_CONTROLLER_URL}`,
    'swarm-updater run --controller https://ctl-a.example:8770 --controller https://ctl-b.example:8770   # replicas',
  ],
  status: ['swarm-updater status', `swarm-updater status --json --install-dir ${DEFAULT_INSTALL_DIR}`, 'swarm-updater status --agent-port 9765   # the agent port run was given'],
  'unmark-bad': ['sudo swarm-updater unmark-bad 3f2a9c41        # the release can be sent again'],
  rollback: [
    'sudo swarm-updater rollback        # back to prev, on the host, with the controller down',
    'sudo swarm-updater rollback --reason "drill 2024-Q3"',
  ],
};

/** The controller link line of `status`: connected since when, or the last error. */
function formatLink(link: Awaited<ReturnType<typeof import('./link-state.js').readLinkState>>): string {
  if (!link) return 'controller: - (run without --controller, or not running)\n';
  const err = link.lastError ? `; last error ${link.lastError.at}: ${link.lastError.message}` : '';
  return escapeUnsafeChars(`controller: ${link.controller} ${link.state} since ${link.since}${err}`) + '\n';
}

function formatStatus(s: UpdaterStatus, probe: { address: string; error: string | null }): string {
  const ref = (r: UpdaterStatus['active']): string => (r ? `${r.dir} (${r.id})` : '-');
  const op = s.lastOperation;
  // Name the address tried: a healthy agent on another port than the one status was given looks dead otherwise.
  const agent = s.agent ? `${s.agent.status}, release ${s.agent.release.slice(0, 12)}, pid ${s.agent.pid}` : `agent not answering on ${probe.address} (${probe.error ?? 'no answer'})`;
  return [
    `status:  ${s.status}${s.running ? ` (operation ${s.running} running)` : ''}`,
    `active:  ${ref(s.active)}`,
    `prev:    ${ref(s.prev)}`,
    `agent:   ${agent}`,
    `last op: ${op ? `${op.id} ${op.kind} ${op.state}${op.error ? ` (${op.error.message})` : ''}` : '-'}`,
    `bad:     ${s.badReleases.length ? s.badReleases.map((b) => b.slice(0, 12)).join(', ') : '-'}`,
    '',
  ].map(escapeUnsafeChars).join('\n'); // the agent's answer and error messages must not drive the terminal
}

const argv = process.argv.slice(2);
let exitCode: number | undefined;
exitQuietlyOnClosedPipe();
runCli(buildProgram(argv, (c) => { exitCode = c; }), argv).then(
  (code) => process.exit(code !== 0 ? code : (exitCode ?? 0)),
  (err: unknown) => {
    process.stderr.write(`swarm-updater: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
