// One supervised service: spawn (no shell, own process group), restart with backoff, bounded output, clean stop.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Clock } from '../shared/clock.js';
import { OWN_GROUP, signalGroup, stopGroup } from '../shared/process-group.js';
import { isCrash, restartDelay, shouldRestart, type RestartPolicy, type ServiceFacts, type ServiceState, type SupervisorPolicy } from './health.js';
import { OutputLog, type OutputLimits, type OutputLine } from './output-log.js';
import type { ResolvedService } from './release.js';

/** The process-spawning seam. */
export interface Spawner {
  spawn(file: string, args: readonly string[], options: SpawnOptions): ChildProcess;
}

export const nodeSpawner: Spawner = Object.freeze({ spawn: (file: string, args: readonly string[], options: SpawnOptions) => spawn(file, args, options) });

/** Variables that belong to the agent's own relation with systemd; a service must never inherit them. */
const PRIVATE_ENV = /^(NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID|LISTEN_FDS|LISTEN_PID|LISTEN_FDNAMES)$/;

/** The environment of a service: the agent's minus systemd's private variables, plus the manifest's. */
export function buildServiceEnv(base: NodeJS.ProcessEnv, spec: ResolvedService, releaseDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!PRIVATE_ENV.test(k) && v !== undefined) env[k] = v;
  return { ...env, SWARM_RELEASE_DIR: releaseDir, SWARM_SERVICE: spec.name, ...spec.env };
}

export interface LastExit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly at: string;
  /** Set when the process could not be started at all. */
  readonly error?: string;
}

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  required: boolean;
  restart: RestartPolicy;
  restarts: number;
  pid: number | null;
  startedAt: string | null;
  stable: boolean;
  recentCrashes: number;
  lastExit: LastExit | null;
  output: OutputLine[];
}

export interface ServiceDeps {
  spec: ResolvedService;
  releaseDir: string;
  policy: SupervisorPolicy;
  clock: Clock;
  spawner: Spawner;
  env: NodeJS.ProcessEnv;
  outputLimits?: OutputLimits;
  random?: () => number;
}

const MAX_CRASH_RECORDS = 1000;

/**
 * Emits 'change' on every state change (and when a run becomes stable), 'exit' with the LastExit of each run.
 */
export class SupervisedService extends EventEmitter {
  readonly spec: ResolvedService;
  readonly output: OutputLog;
  private _state: ServiceState = 'stopped';
  private child: ChildProcess | undefined;
  private run = 0;
  private restarts = 0;
  private streak = 0;
  private stable = false;
  private crashes: number[] = [];
  private lastExit: LastExit | null = null;
  private startedAt: number | null = null;
  private restartTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private stopWaiters: (() => void)[] = [];
  private firstSettled: Promise<void>;
  private settleFirst!: () => void;

  constructor(private readonly deps: ServiceDeps) {
    super();
    this.spec = deps.spec;
    this.output = new OutputLog(deps.outputLimits, () => deps.clock.now());
    this.firstSettled = new Promise((resolve) => (this.settleFirst = resolve));
  }

  get state(): ServiceState {
    return this._state;
  }

  get pid(): number | null {
    return this._state === 'running' || this._state === 'stopping' ? (this.child?.pid ?? null) : null;
  }

  /** Start the first run; resolves once it spawned or failed to. */
  start(): Promise<void> {
    if (this._state === 'stopped' && this.run === 0) this.spawnRun();
    return this.firstSettled;
  }

  get restartCount(): number {
    return this.restarts;
  }

  facts(): ServiceFacts {
    return { name: this.spec.name, required: this.spec.required, state: this._state, crashes: this.crashes, stable: this.stable, streak: this.streak };
  }

  status(outputLines?: number): ServiceStatus {
    const now = this.deps.clock.now();
    return {
      name: this.spec.name,
      state: this._state,
      required: this.spec.required,
      restart: this.spec.restart,
      restarts: this.restarts,
      pid: this.pid,
      startedAt: this.startedAt === null ? null : new Date(this.startedAt).toISOString(),
      stable: this.stable,
      recentCrashes: this.crashes.filter((at) => now - at < this.deps.policy.crashWindowMs).length,
      lastExit: this.lastExit,
      output: this.output.lines(outputLines),
    };
  }

  private setState(state: ServiceState): void {
    this._state = state;
    this.emit('change', this);
  }

  private spawnRun(): void {
    this.run += 1;
    const run = this.run;
    const [, ...args] = this.spec.command;
    this.setState('starting');
    let child: ChildProcess;
    try {
      child = this.deps.spawner.spawn(this.spec.executable, args, {
        cwd: this.deps.releaseDir,
        env: buildServiceEnv(this.deps.env, this.spec, this.deps.releaseDir),
        stdio: ['ignore', 'pipe', 'pipe'],
        ...OWN_GROUP, // a stop reaches the service's children too
      });
    } catch (err) {
      this.endRun(run, null, null, (err as Error).message);
      return;
    }
    this.child = child;
    child.stdout?.on('data', (c: Buffer) => this.output.write('stdout', c));
    child.stderr?.on('data', (c: Buffer) => this.output.write('stderr', c));
    child.stdout?.on('error', () => undefined); // a broken pipe only loses output
    child.stderr?.on('error', () => undefined);
    child.stdout?.on('end', () => this.output.end('stdout'));
    child.stderr?.on('end', () => this.output.end('stderr'));
    child.once('spawn', () => {
      if (run !== this.run || this._state !== 'starting') return;
      this.startedAt = this.deps.clock.now();
      this.stable = this.streak === 0;
      if (!this.stable) {
        this.stableTimer = this.deps.clock.setTimeout(() => {
          if (run !== this.run || this._state !== 'running') return;
          this.stable = true;
          this.streak = 0;
          this.emit('change', this);
        }, this.deps.policy.stableMs);
      }
      this.setState('running');
      this.settleFirst();
    });
    child.on('error', (err) => this.endRun(run, null, null, err.message)); // on, not once: a second 'error' must not throw
    child.once('exit', (code, signal) => this.endRun(run, code, signal, undefined));
  }

  private endRun(run: number, code: number | null, signal: NodeJS.Signals | null, error: string | undefined): void {
    if (run !== this.run || this._state === 'stopped' || this._state === 'backoff' || this._state === 'exited' || this._state === 'failed') return;
    const pid = this.child?.pid;
    if (pid !== undefined) signalGroup(pid, 'SIGKILL'); // leftovers of the group die with their leader
    this.clearTimers();
    const now = this.deps.clock.now();
    this.lastExit = { code, signal, at: new Date(now).toISOString(), ...(error !== undefined ? { error } : {}) };
    if (error !== undefined) this.output.note(`cannot start ${this.spec.executable}: ${error}`);
    this.settleFirst();
    this.emit('exit', this.lastExit);
    if (this._state === 'stopping') {
      this.child = undefined;
      this.setState('stopped');
      for (const w of this.stopWaiters.splice(0)) w();
      return;
    }
    this.child = undefined;
    this.stable = false;
    const failed = error !== undefined ? 1 : code;
    if (isCrash(this.spec.restart, failed, signal)) {
      this.crashes.push(now);
      if (this.crashes.length > MAX_CRASH_RECORDS) this.crashes.splice(0, this.crashes.length - MAX_CRASH_RECORDS);
    }
    if (shouldRestart(this.spec.restart, failed, signal)) {
      this.streak += 1;
      const delay = restartDelay(this.streak, this.deps.policy, this.deps.random);
      this.restartTimer = this.deps.clock.setTimeout(() => {
        this.restartTimer = undefined;
        if (this._state !== 'backoff') return;
        this.restarts += 1;
        this.spawnRun();
      }, delay);
      this.setState('backoff');
      return;
    }
    this.setState(failed === 0 && signal === null ? 'exited' : 'failed');
  }

  private clearTimers(): void {
    for (const t of [this.restartTimer, this.stableTimer]) if (t !== undefined) this.deps.clock.clearTimeout(t);
    this.restartTimer = this.stableTimer = undefined;
  }

  /** SIGTERM to the process group, SIGKILL after the grace period; resolves when the process is gone. */
  stop(): Promise<void> {
    if (this._state === 'stopped' && this.run === 0) {
      this.settleFirst();
      return Promise.resolve();
    }
    if (this._state === 'backoff' || this._state === 'exited' || this._state === 'failed') {
      this.clearTimers();
      this.setState('stopped');
      return Promise.resolve();
    }
    if (this._state === 'stopped') return Promise.resolve();
    const done = new Promise<void>((resolve) => this.stopWaiters.push(resolve));
    if (this._state !== 'stopping') {
      const child = this.child;
      this.setState('stopping');
      // Only the group, never the bare pid: after its exit the number may belong to another process.
      const stopIt = (pid: number): void => void stopGroup(pid, { graceMs: this.deps.policy.stopGraceMs, exited: done, clock: this.deps.clock });
      if (child?.pid === undefined) {
        // not spawned yet: the 'spawn' or 'error' event follows; stop on spawn
        child?.once('spawn', () => child.pid !== undefined && stopIt(child.pid));
      } else {
        stopIt(child.pid);
      }
    }
    return done;
  }
}
