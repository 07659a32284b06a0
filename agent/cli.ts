// The swarm-agent command line: `run` with flags or SWARM_* environment; signals drive stop and TLS reload.
import { createProgram, type Command } from '../shared/cli.js';
import { createLogger } from '../shared/logger.js';
import { runAgent, type AgentHandle } from './run.js';
import { resolveAgentSettings, DEFAULT_LISTEN, DEFAULT_PKI_DIR, type AgentFlags } from './settings.js';

/** Resolve when SIGTERM/SIGINT stopped the agent; SIGHUP reloads TLS meanwhile. */
function serveUntilSignal(handle: AgentHandle): Promise<void> {
  return new Promise((resolve, reject) => {
    const onHup = (): void => void handle.reloadTls('SIGHUP');
    const onStop = (signal: NodeJS.Signals): void => {
      process.off('SIGHUP', onHup);
      handle.stop(signal).then(resolve, reject);
    };
    process.on('SIGHUP', onHup);
    process.once('SIGTERM', onStop);
    process.once('SIGINT', onStop);
  });
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
      const handle = await runAgent({ settings, logger, env });
      await serveUntilSignal(handle);
    });
  return program;
}
