// The swarm-agent command line: `run` with flags or SWARM_* environment; signals drive stop and TLS reload.
import { addExamples, collect, CONTROLLER_LIST_HELP, createProgram, type Command } from '../shared/cli.js';
import { AGENT_ENV_FILE, EXAMPLE_CONTROLLER_URL } from '../shared/defaults.js';
import { createLogger } from '../shared/logger.js';
import { trapSignals } from '../shared/server-kit.js';
import { runAgent } from './run.js';
import { resolveAgentSettings, DEFAULT_LISTEN, DEFAULT_PKI_DIR, type AgentFlags } from './settings.js';

export function createAgentProgram(env: NodeJS.ProcessEnv = process.env): Command {
  const program = createProgram('swarm-agent', 'The Swarm agent: supervises the release\'s services and reports health over mutual TLS.');
  program
    .command('run')
    .description('serve /v1/health and /v1/status and supervise the services of the release in the working directory')
    .option('--pki-dir <dir>', `ca.crt, agent.crt, agent.key (env SWARM_PKI_DIR, default ${DEFAULT_PKI_DIR})`)
    .option('--listen <host:port>', `where to listen (env SWARM_AGENT_LISTEN, default ${DEFAULT_LISTEN})`)
    .option('--controller <url>', `https URL of the controller, for the channel and renewal; ${CONTROLLER_LIST_HELP} (env SWARM_CONTROLLER, commas between URLs)`, collect)
    .action(async (opts: AgentFlags) => {
      const settings = resolveAgentSettings(opts, env);
      const logger = createLogger({ name: 'swarm-agent' });
      // From the very start: a stop during startup waits for it, then stops what started (no service orphaned);
      // SIGHUP is ignored until there is a server to reload; repeated stop signals are absorbed.
      const signals = trapSignals({ handlers: { SIGHUP: () => undefined } });
      const handle = await runAgent({ settings, logger, env });
      signals.handle('SIGHUP', () => void handle.reloadTls('SIGHUP'));
      await handle.stop(await signals.stopped);
    });
  addExamples(program, {
    '': [`swarm-agent run --pki-dir ${DEFAULT_PKI_DIR}`],
    run: [
      `swarm-agent run        # under systemd: settings from ${AGENT_ENV_FILE}`,
      `SWARM_PKI_DIR=${DEFAULT_PKI_DIR} SWARM_CONTROLLER=${EXAMPLE_CONTROLLER_URL} swarm-agent run`,
      'swarm-agent run --pki-dir ./pki --listen 127.0.0.1:9765',
      'swarm-agent run --controller https://ctl-a.example:8770 --controller https://ctl-b.example:8770   # replicas',
    ],
  });
  return program;
}
