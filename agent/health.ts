// Pure supervision decisions: restart or not, how long to back off, and what the agent's health is.
import { backoffDelay } from '../shared/backoff.js';
import type { HealthStatus, RestartPolicy, ServiceState } from '../shared/wire.js';

export interface SupervisorPolicy {
  /** This many crashes of one service within crashWindowMs, while it is not yet stable again, make health "failing". */
  readonly crashLimit: number;
  readonly crashWindowMs: number;
  /** A restarted service counts as recovered after running this long without crashing. */
  readonly stableMs: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  /** SIGTERM to SIGKILL when stopping a service. */
  readonly stopGraceMs: number;
}

export const DEFAULT_POLICY: SupervisorPolicy = Object.freeze({
  crashLimit: 5,
  crashWindowMs: 60_000,
  stableMs: 5_000,
  backoffBaseMs: 250,
  backoffCapMs: 30_000,
  stopGraceMs: 5_000,
});

export type { RestartPolicy, ServiceState };

/** What the health decision needs to know about one service. */
export interface ServiceFacts {
  readonly name: string;
  readonly required: boolean;
  readonly state: ServiceState;
  /** Crash times (ms), newest last. */
  readonly crashes: readonly number[];
  /** True once the current run has lasted stableMs (or it is the first run, never crashed). */
  readonly stable: boolean;
  /** Restarts since the last stable run: a crash loop whose backoff outgrew the window still counts. */
  readonly streak?: number;
}

/** Whether an exit the agent did not ask for leads to a restart. */
export function shouldRestart(policy: RestartPolicy, code: number | null, signal: NodeJS.Signals | null): boolean {
  if (policy === 'always') return true;
  if (policy === 'never') return false;
  return !(code === 0 && signal === null);
}

/** An exit the agent did not ask for, and that the restart policy does not accept as the end: a crash. */
export function isCrash(policy: RestartPolicy, code: number | null, signal: NodeJS.Signals | null): boolean {
  return shouldRestart(policy, code, signal) || !(code === 0 && signal === null);
}

/**
 * Delay before restart number `streak` (1 for the first restart after a crash): exponential with a cap and
 * equal jitter (half fixed, half random) so a crash loop never spins at 0 ms yet services do not restart in lockstep.
 */
export function restartDelay(streak: number, policy: Pick<SupervisorPolicy, 'backoffBaseMs' | 'backoffCapMs'>, random: () => number = Math.random): number {
  return backoffDelay(streak - 1, { baseMs: policy.backoffBaseMs, capMs: policy.backoffCapMs, jitter: 'equal' }, random);
}

/** Crashes within the window ending at now. */
export function recentCrashCount(crashes: readonly number[], now: number, windowMs: number): number {
  let n = 0;
  for (const at of crashes) if (now - at < windowMs) n += 1;
  return n;
}

/** One service's contribution to health. */
export function serviceCondition(s: ServiceFacts, now: number, policy: Pick<SupervisorPolicy, 'crashLimit' | 'crashWindowMs'>): HealthStatus {
  if (s.state === 'failed') return 'failing';
  if (s.state === 'exited') return 'ok'; // finished cleanly under a policy that does not restart it
  if (s.state === 'running' && s.stable) return 'ok';
  if (recentCrashCount(s.crashes, now, policy.crashWindowMs) >= policy.crashLimit) return 'failing';
  // With the backoff capped at 30 s, a service that never stays up crashes only ~3 times a minute: without this
  // it would fall back from failing to degraded after two minutes although it never ran.
  if ((s.streak ?? 0) >= policy.crashLimit) return 'failing';
  return 'degraded';
}

/**
 * The agent's health: ok when every required service runs (or finished cleanly), degraded when one is
 * starting, restarting or not yet stable again, failing when one crash-loops past the threshold or is dead
 * for good. Optional services never change it: they must not make the updater roll a release back.
 */
export function decideHealth(services: readonly ServiceFacts[], now: number, policy: Pick<SupervisorPolicy, 'crashLimit' | 'crashWindowMs'>): HealthStatus {
  let status: HealthStatus = 'ok';
  for (const s of services) {
    if (!s.required) continue;
    const c = serviceCondition(s, now, policy);
    if (c === 'failing') return 'failing';
    if (c === 'degraded') status = 'degraded';
  }
  return status;
}
