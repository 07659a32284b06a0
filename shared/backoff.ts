// Retry delays: exponential growth from a base to a cap, with jitter from an injectable random source; every retry loop asks here.

/**
 * How much of the delay is random:
 * - `full`: anywhere in [0, ceiling) — spreads a fleet that failed at the same moment (DESIGN.md §6, channels);
 * - `equal`: half fixed, half random — a loop that must never spin at 0 ms yet should not move in lockstep
 *   (the agent restarting a crashing service);
 * - `none`: the ceiling itself — one process retrying one thing, where spreading buys nothing (probes).
 */
export type Jitter = 'full' | 'equal' | 'none';

export interface BackoffPolicy {
  /** The ceiling of the first retry (attempt 0). */
  readonly baseMs: number;
  /** No delay exceeds this. */
  readonly capMs: number;
  /** Default `full`. */
  readonly jitter?: Jitter;
}

/** Attempts past this no longer double (2^30 × any base is far beyond every cap): no Infinity, no overflow. */
const MAX_DOUBLINGS = 30;

/** The delay before retry `attempt` (0 for the first) without jitter: min(cap, base × 2^attempt). */
export function backoffCeiling(attempt: number, policy: Pick<BackoffPolicy, 'baseMs' | 'capMs'>): number {
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(attempt, 0), MAX_DOUBLINGS));
}

/** The delay (ms, whole) before retry `attempt` (0 for the first); `random` returns [0, 1) and is pinned by tests. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = backoffCeiling(attempt, policy);
  switch (policy.jitter ?? 'full') {
    case 'full':
      return Math.floor(random() * ceiling);
    case 'equal':
      return Math.floor(ceiling / 2 + random() * (ceiling / 2));
    case 'none':
      return Math.floor(ceiling);
  }
}
