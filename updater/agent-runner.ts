// Restarting the agent: one interface, two implementations (systemd and spawn); events feed the watch window.

export type AgentEvent =
  | { type: 'started'; pid: number; dir: string }
  | { type: 'exited'; pid: number; code: number | null; signal: string | null; expected: boolean }
  | { type: 'restarting'; attempt: number; delayMs: number };

export interface AgentRunner {
  readonly mode: 'systemd' | 'spawn';
  /** Make sure an agent runs (spawn: start it on `active` if none; systemd: `systemctl start`). */
  ensureRunning(): Promise<void>;
  /** Stop whatever runs and start the release `active` points to now. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** During an operation the updater decides: no automatic restarts until release(). */
  hold(): void;
  release(): void;
  onEvent(listener: (event: AgentEvent) => void): () => void;
}

/** Runs a command (systemctl); a seam so tests can put a recording fake on PATH. */
export interface CommandRunner {
  run(command: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}
