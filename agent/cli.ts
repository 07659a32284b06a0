// The swarm-agent command line: `run` with flags or SWARM_* environment; signals drive stop and TLS reload.
import { addExamples, createProgram, type Command } from '../shared/cli.js';
import { AGENT_ENV_FILE, EXAMPLE_CONTROLLER_URL } from '../shared/defaults.js';
import { createLogger } from '../shared/logger.js';
import { runAgent } from './run.js';
import { resolveAgentSettings, DEFAULT_LISTEN, DEFAULT_PKI_DIR, type AgentFlags } from './settings.js';

/**
 * Trap SIGTERM/SIGINT from the very start (a stop during startup waits for startup, then stops what started,
 * so no service is orphaned) and SIGHUP (ignored until the agent can reload). Repeated signals are absorbed.
 */
function trapSignals(): { stop: Promise<NodeJS.Signals>; onHup: (fn: () => void) => void } {
  let resolveStop!: (s: NodeJS.Signals) => void;
  const stop = new Promise<NodeJS.Signals>((resolve) => (resolveStop = resolve));
  let hup: () => void = () => undefined;
  let stopping = false;
  const onStop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    resolveStop(signal);
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', () => hup());
  return { stop, onHup: (fn) => (hup = fn) };
}

export function createAgentProgram(env: NodeJS.ProcessEnv = process.env): Command {
  const program = createProgram('swarm-agent', 'The Swarm agent: supervises the release\'s services and reports health over mutual TLS.');
  program
    .command('run')
    .description('serve /v1/health and /v1/status and supervise the services of the release in the working directory')
    .option('--pki-dir <dir>', `ca.crt, agent.crt, agent.key (env SWARM_PKI_DIR, default ${DEFAULT_PKI_DIR})`)
    .option('--listen <host:port>', `where to listen (env SWARM_AGENT_LISTEN, default ${DEFAULT_LISTEN})`)
    .option('--controller <url>', 'https URL of the controller, for the channel and renewal (env SWARM_CONTROLLER)')
    .action(async (opts: AgentFlags) => {
      const settings = resolveAgentSettings(opts, env);
      const logger = createLogger({ name: 'swarm-agent' });
      const signals = trapSignals();
      const handle = await runAgent({ settings, logger, env });
      signals.onHup(() => void handle.reloadTls('SIGHUP'));
      await handle.stop(await signals.stop);
    });
  addExamples(program, {
    '': [`swarm-agent run --pki-dir ${DEFAULT_PKI_DIR}`],
    run: [
      `swarm-agent run        # under systemd: settings from ${AGENT_ENV_FILE}`,
      `SWARM_PKI_DIR=${DEFAULT_PKI_DIR} SWARM_CONTROLLER=${EXAMPLE_CONTROLLER_URL} swarm-agent run`,
      'swarm-agent run --pki-dir ./pki --listen 127.0.0.1:9765',
    ],
  });
  return program;
}
