#!/usr/bin/env node
// The swarm-agent bin: run the command line and exit with its code (0 ok, 1 failure, 2 bad usage).
import { runCli } from '../shared/cli.js';
import { createAgentProgram } from './cli.js';

runCli(createAgentProgram(), process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`swarm-agent: ${(err as Error).message} [SWARM_ERR_INTERNAL]\n`);
    process.exit(1);
  },
);
