// Children in their own process group: how to spawn them, signal the whole group, and stop it (SIGTERM, a grace, then SIGKILL).
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { systemClock, type Clock } from './clock.js';
import { limitValue } from './limits.js';

/**
 * Spawn options that make the child the leader of a new process group, so a stop reaches whatever it started
 * too (a service's workers, an agent's services). Never a shell.
 */
export const OWN_GROUP = Object.freeze({ detached: true, shell: false } as const);

export interface SignalOptions {
  /**
   * Also signal the bare pid when the group is gone. Only for a process that may not lead a group (found by its
   * environment marker) and whose identity was just checked: after an exit the number may belong to a stranger.
   */
  orPid?: boolean;
}

/** Signal a whole process group; true when something received it. A group already gone is fine. */
export function signalGroup(pid: number, signal: NodeJS.Signals, options: SignalOptions = {}): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    if (!options.orPid) return false;
  }
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

export interface StopGroupOptions extends SignalOptions {
  /** SIGTERM to SIGKILL. */
  graceMs: number;
  /** Resolves when the leader exited (our own child); without it `gone` is polled. */
  exited?: Promise<unknown>;
  /** True once the leader is gone (checked before anything is sent, and polled when there is no `exited`). */
  gone?: () => boolean;
  /** How long to wait after SIGKILL before giving up (default LIMITS['process.kill-wait']). */
  killWaitMs?: number;
  clock?: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
}

const POLL_MS = 20;

/**
 * SIGTERM the group, SIGKILL after the grace period, and wait (bounded) for the leader to be gone.
 * Resolves true when it is gone, false when even SIGKILL did not end it within killWaitMs.
 */
export async function stopGroup(pid: number, o: StopGroupOptions): Promise<boolean> {
  const gone = o.gone ?? (() => false);
  if (gone()) return true;
  signalGroup(pid, 'SIGTERM', o);
  if (await waitGone(o, o.graceMs)) return true;
  signalGroup(pid, 'SIGKILL', o);
  return waitGone(o, o.killWaitMs ?? limitValue('process.kill-wait'));
}

/** Wait up to ms for `exited` (or for `gone()` to turn true); true when gone. */
async function waitGone(o: StopGroupOptions, ms: number): Promise<boolean> {
  const clock = o.clock ?? systemClock;
  const gone = o.gone ?? (() => false);
  if (o.exited) {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      o.exited.then(() => false),
      new Promise<boolean>((resolve) => { timer = clock.setTimeout(() => resolve(true), ms); }),
    ]);
    if (timer !== undefined) clock.clearTimeout(timer);
    return !timedOut || gone();
  }
  const deadline = performance.now() + ms;
  for (let i = 0; i < Math.ceil(ms / POLL_MS) + 1 && performance.now() < deadline; i++) {
    if (gone()) return true;
    await new Promise<void>((resolve) => clock.setTimeout(resolve, POLL_MS));
  }
  return gone();
}

/** Stop one child we spawned: `signal` (SIGTERM), then SIGKILL after `graceMs`; resolves once it exited. */
export async function stopChild(child: ChildProcess | null | undefined, options: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(options.signal ?? 'SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.graceMs ?? 10_000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
