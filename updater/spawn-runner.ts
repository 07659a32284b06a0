// The agent as our child (no systemd): started in the active release dir, SIGTERM then SIGKILL, restarted with backoff.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, realpath, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { backoffDelay } from '../shared/backoff.js';
import { isProcessAlive } from '../shared/process.js';
import { OWN_GROUP, stopGroup } from '../shared/process-group.js';
import { writeFileAtomic } from '../shared/files.js';
import { ManifestSchema, MANIFEST_FILE } from '../shared/release-manifest.js';
import type { AgentEvent, AgentRunner } from './agent-runner.js';
import { updaterError } from './errors.js';
import { faultPoint } from './fault.js';

export interface SpawnRunnerOptions {
  installDir: string;
  pkiDir: string;
  agentPort: number;
  /** The controller URLs, handed to the agent as SWARM_CONTROLLER (comma-separated). */
  controller?: readonly string[];
  /** state/agent.pid: lets a restarted updater stop an agent its killed predecessor left behind. */
  pidFile: string;
  stopGraceMs: number;
  restartBackoffMs: number;
  restartBackoffMaxMs: number;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}

/** Environment variable naming the install dir whose updater started the process. */
export const AGENT_MARKER = 'SWARM_UPDATER_AGENT_OF';

const PidFileSchema = z.object({ pid: z.number().int().positive(), startTime: z.string(), dir: z.string() });

export class SpawnAgentRunner implements AgentRunner {
  readonly mode = 'spawn' as const;
  private child: ChildProcess | null = null;
  private held = false;
  private attempt = 0;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly listeners = new Set<(e: AgentEvent) => void>();

  constructor(private readonly o: SpawnRunnerOptions) {}

  onEvent(listener: (e: AgentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  hold(): void {
    this.held = true;
    this.cancelRestart();
  }

  release(): void {
    this.held = false;
    if (!this.child && !this.closed) this.scheduleRestart();
  }

  async ensureRunning(): Promise<void> {
    if (this.child) return;
    await this.start();
  }

  async restart(): Promise<void> {
    await this.stop();
    this.closed = false;
    await this.start();
  }

  /** Stop our child, or a stale agent from the pid file; never leaves one running. */
  async stop(): Promise<void> {
    this.cancelRestart();
    const child = this.child;
    this.child = null; // from here its exit is expected
    if (child && child.pid !== undefined) {
      await this.terminate(child.pid, () => child.exitCode !== null || child.signalCode !== null, new Promise<void>((r) => child.once('exit', () => r())));
    }
    // Also what a SIGKILLed agent left behind (its services run in their own process groups).
    await this.stopStale();
    this.child = null;
    await unlink(this.o.pidFile).catch(() => undefined);
  }

  /** Stop for good (updater shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
  }

  private async start(): Promise<void> {
    await this.stopStale();
    let dir: string;
    let entry: string[];
    try {
      dir = await realpath(join(this.o.installDir, 'active'));
      const manifest = ManifestSchema.parse(JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')));
      entry = manifest.entrypoint;
    } catch (err) {
      throw updaterError('SWARM_ERR_UPDATER_RESTART_FAILED', `cannot start the agent: no valid release at ${join(this.o.installDir, 'active')} (${(err as Error).message})`, { cause: err });
    }
    const env: NodeJS.ProcessEnv = { ...(this.o.env ?? process.env) };
    delete env.SWARM_FAULT;
    delete env.SWARM_UPDATER_SUPERVISED;
    // Marks the agent (and whatever it starts) as ours, so a successor finds it even without the pid file.
    env[AGENT_MARKER] = resolve(this.o.installDir);
    env.SWARM_PKI_DIR = this.o.pkiDir;
    env.SWARM_AGENT_LISTEN = `127.0.0.1:${this.o.agentPort}`;
    if (this.o.controller?.length) env.SWARM_CONTROLLER = this.o.controller.join(',');
    else delete env.SWARM_CONTROLLER;
    const child = spawn(join(dir, entry[0]!), entry.slice(1), { cwd: dir, env, ...OWN_GROUP, stdio: ['ignore', 'inherit', 'inherit'] });
    const spawned = await new Promise<Error | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', (err) => resolve(err));
    });
    if (spawned || child.pid === undefined) {
      this.emit({ type: 'exited', pid: -1, code: null, signal: null, expected: false });
      if (!this.held && !this.closed) this.scheduleRestart();
      throw updaterError('SWARM_ERR_UPDATER_RESTART_FAILED', `cannot start ${join(dir, entry[0]!)}: ${spawned?.message ?? 'no pid'}`);
    }
    const pid = child.pid;
    faultPoint('agent-after-spawn', this.o.env);
    this.child = child;
    this.startedAt = performance.now();
    // Watched from the start: nothing below may leave a running agent whose exit nobody hears.
    child.once('exit', (code, signal) => {
      const expected = this.child !== child;
      if (!expected) this.child = null;
      this.o.logger[expected ? 'info' : 'warn']({ pid, code, signal }, 'agent exited');
      this.emit({ type: 'exited', pid, code, signal, expected });
      if (!expected && !this.held && !this.closed) this.scheduleRestart();
    });
    try {
      await writeFileAtomic(this.o.pidFile, JSON.stringify({ pid, startTime: await processStartTime(pid) ?? '', dir }), 0o644);
    } catch (err) {
      // The agent runs; a successor finds it by its environment marker (stopUnrecorded) instead.
      this.o.logger.error({ err, pid }, 'agent pid file not written (disk full?)');
    }
    this.o.logger.info({ pid, dir }, 'agent started');
    this.emit({ type: 'started', pid, dir });
  }

  private scheduleRestart(): void {
    if (this.restartTimer) return;
    if (performance.now() - this.startedAt > 10_000) this.attempt = 0;
    // One agent per host: nothing to spread, so no jitter (and never a 0 ms restart loop).
    const delayMs = backoffDelay(this.attempt, { baseMs: this.o.restartBackoffMs, capMs: this.o.restartBackoffMaxMs, jitter: 'none' });
    this.attempt += 1;
    this.emit({ type: 'restarting', attempt: this.attempt, delayMs });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.held || this.closed || this.child) return;
      this.start().catch((err: unknown) => this.o.logger.error({ err }, 'agent restart failed'));
    }, delayMs);
    this.restartTimer.unref();
  }

  private cancelRestart(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }

  /** An agent a killed updater left behind (checked by pid and start time, so a reused pid is never hit). */
  private async stopStale(): Promise<void> {
    let entry: z.output<typeof PidFileSchema>;
    try {
      entry = PidFileSchema.parse(JSON.parse(await readFile(this.o.pidFile, 'utf8')));
    } catch {
      await this.stopUnrecorded();
      return;
    }
    if (this.child?.pid === entry.pid) return;
    const start = await processStartTime(entry.pid);
    if (start !== undefined && start === entry.startTime) {
      this.o.logger.warn({ pid: entry.pid }, 'stopping an agent left by a previous updater');
      await this.terminate(entry.pid, () => !isProcessAlive(entry.pid), undefined);
    }
    await unlink(this.o.pidFile).catch(() => undefined);
    // A stale agent that had to be SIGKILLed leaves its services (own process groups) behind: they carry the marker.
    await this.stopUnrecorded();
  }

  /**
   * Processes of an old agent no pid file names: an agent spawned just before a kill -9 of the updater (it would
   * hold the agent port, so every new agent dies on EADDRINUSE, and answer probes for its release), or services
   * a SIGKILLed agent left in their own process groups (the old release still running beside the new one).
   * Found by the marker in their environment.
   */
  private async stopUnrecorded(): Promise<void> {
    const mine = this.child?.pid;
    for (const pid of await findMarkedProcesses(AGENT_MARKER, resolve(this.o.installDir))) {
      if (pid === mine || pid === process.pid) continue;
      this.o.logger.warn({ pid }, 'stopping an agent left by a previous updater (no pid file)');
      await this.terminate(pid, () => !isProcessAlive(pid), undefined);
    }
  }

  /**
   * SIGTERM the process group, SIGKILL after the grace period, until gone. The bare pid too when there is no
   * group: a marked process need not lead one, and each caller checked who the pid is just before.
   */
  private async terminate(pid: number, gone: () => boolean, exited: Promise<void> | undefined): Promise<void> {
    await stopGroup(pid, { graceMs: this.o.stopGraceMs, gone, ...(exited ? { exited } : {}), orPid: true });
  }

  private emit(event: AgentEvent): void {
    for (const l of this.listeners) l(event);
  }
}


/** Live processes whose environment holds `name=value` (those we may read: our own user's). */
export async function findMarkedProcesses(name: string, value: string): Promise<number[]> {
  const needle = Buffer.from(`${name}=${value}\0`);
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((n) => /^\d+$/.test(n)).map(Number);
  const marked = await Promise.all(pids.map(async (pid) => {
    const environ = await readFile(`/proc/${pid}/environ`).catch(() => null);
    if (!environ) return false;
    // Entries are NUL-separated: match at the start or right after a NUL, never inside another value.
    const at = environ.indexOf(needle);
    return (at === 0 || (at > 0 && environ[at - 1] === 0)) && isProcessAlive(pid);
  }));
  return pids.filter((_, i) => marked[i]);
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); undefined when the process is gone. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}
