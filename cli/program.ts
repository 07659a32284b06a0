// The swarmctl command tree: global options and the command groups.
import type { Command } from 'commander';
import { addExamples, collect, CONTROLLER_LIST_HELP, createProgram } from '../shared/cli.js';
import { DEFAULT_CONTROLLER_URL } from '../shared/defaults.js';
import { SWARMCTL_EXAMPLES } from './examples.js';
import { registerReadCommands } from './commands/cert.js';
import { registerCompletionCommand } from './commands/completion.js';
import { registerDashboardCommand } from './dashboard/command.js';
import { registerHostCommands } from './commands/host.js';
import { registerReleaseCommands } from './commands/release.js';
import { registerRollbackCommand } from './commands/rollback.js';
import { registerRolloutCommands } from './commands/rollout.js';
import { registerOperatorCommands } from './commands/operator.js';
import type { CliIo } from './session.js';

export function buildSwarmctl(io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Command {
  const program = createProgram('swarmctl', 'Operate a Swarm fleet: hosts, operators, certificates, status.')
    .option('--controller <url>', `controller URL, ${CONTROLLER_LIST_HELP} (env SWARMCTL_CONTROLLER, commas between; default ${DEFAULT_CONTROLLER_URL})`, collect)
    .option('--identity <dir>', 'operator identity directory with ca.crt, operator.crt, operator.key (env SWARMCTL_IDENTITY)')
    .option('--json', 'print one JSON document for scripts');
  registerHostCommands(program, io);
  registerOperatorCommands(program, io);
  registerReadCommands(program, io);
  registerReleaseCommands(program, io);
  registerRolloutCommands(program, io);
  registerRollbackCommand(program, io);
  registerDashboardCommand(program, io);
  registerCompletionCommand(program, io);
  addExamples(program, SWARMCTL_EXAMPLES);
  return program;
}
