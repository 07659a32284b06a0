// The agent under systemd: `systemctl restart swarm-agent.service`; restarts are seen by the probe (pid changes).
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { AgentEvent, AgentRunner, CommandRunner } from './agent-runner.js';
import { updaterError } from './errors.js';

export class SystemdAgentRunner implements AgentRunner {
  readonly mode = 'systemd' as const;
  private readonly listeners = new Set<(e: AgentEvent) => void>();

  constructor(private readonly unit: string, private readonly commands: CommandRunner) {}

  async ensureRunning(): Promise<void> {
    await this.systemctl('start');
  }

  async restart(): Promise<void> {
    await this.systemctl('restart');
  }

  async stop(): Promise<void> {
    await this.systemctl('stop');
  }

  hold(): void {}
  release(): void {}

  onEvent(listener: (e: AgentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async systemctl(verb: string): Promise<void> {
    const r = await this.commands.run('systemctl', [verb, this.unit]);
    if (r.code !== 0) {
      throw updaterError('SWARM_ERR_UPDATER_RESTART_FAILED', `systemctl ${verb} ${this.unit} failed (exit ${r.code}): ${r.stderr.trim().split('\n')[0] ?? ''}`);
    }
  }
}

/** systemd mode: forced by config, or INVOCATION_ID set (we run under systemd) and systemctl on PATH. */
export function detectRestartMode(configured: 'auto' | 'systemd' | 'spawn', env: NodeJS.ProcessEnv = process.env): 'systemd' | 'spawn' {
  if (configured !== 'auto') return configured;
  if (!env.INVOCATION_ID) return 'spawn';
  return findOnPath('systemctl', env.PATH ?? '') ? 'systemd' : 'spawn';
}

function findOnPath(bin: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, bin), constants.X_OK);
      return join(dir, bin);
    } catch {
      // not here
    }
  }
  return undefined;
}
