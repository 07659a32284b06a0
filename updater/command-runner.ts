// The real command runner: execFile with a timeout; never a shell.
import { execFile } from 'node:child_process';
import { limitValue } from '../shared/limits.js';
import type { CommandRunner } from './agent-runner.js';

export function createCommandRunner(options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CommandRunner {
  return {
    run(command, args) {
      return new Promise((resolve) => {
        execFile(command, [...args], { env: options.env ?? process.env, timeout: options.timeoutMs ?? limitValue('updater.restart.systemctl-timeout'), encoding: 'utf8' }, (err, stdout, stderr) => {
          const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
          const code = e === null ? 0 : typeof e.code === 'number' ? e.code : 127;
          resolve({ code, stdout, stderr: stderr || (e && typeof e.code === 'string' ? `${command}: ${e.code}` : '') });
        });
      });
    },
  };
}
