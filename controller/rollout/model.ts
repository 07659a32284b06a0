// The rollout model: states, host states, strategy and the failure budget, as DESIGN.md §6 pins them.
import { z } from 'zod';

/** Rollout states (DESIGN.md §6). */
export const RolloutStateSchema = z.enum(['pending', 'canary', 'rolling', 'paused', 'done', 'aborted']);
export type RolloutState = z.output<typeof RolloutStateSchema>;

/** Why a rollout is paused or aborted. */
export const RolloutReasonSchema = z.enum(['canary-failed', 'budget-exceeded', 'operator', 'rollback']);
export type RolloutReason = z.output<typeof RolloutReasonSchema>;

/** A host's state in a rollout (DESIGN.md §6). */
export const RolloutHostStateSchema = z.enum(['pending', 'pushing', 'succeeded', 'rolled-back', 'failed', 'unreachable', 'skipped']);
export type RolloutHostState = z.output<typeof RolloutHostStateSchema>;

/** A count, or a percentage of the rollout's hosts. */
export const AmountSchema = z.union([
  z.object({ count: z.number().int().min(0).max(1_000_000) }).strict(),
  z.object({ percent: z.number().min(0).max(100) }).strict(),
]);
export type Amount = z.output<typeof AmountSchema>;

export const StrategySchema = z.object({
  /** Hosts in the canary wave (wave 0); 0 for none. */
  canary: z.number().int().min(0).max(1_000_000),
  /** Hosts per wave after the canary. */
  batch: AmountSchema,
  /** Pushes in flight at once, across the rollout. */
  maxParallel: z.number().int().min(1).max(10_000),
  /** Failed, rolled-back and unreachable hosts allowed before the rollout pauses itself. */
  maxFailures: AmountSchema,
  /** Wait between one wave's end and the next one's start. */
  pauseBetweenMs: z.number().int().min(0).max(7 * 86_400_000),
  /** One host's push (upload, install, probe, watch window) must end within this. */
  hostDeadlineMs: z.number().int().min(1000).max(86_400_000),
}).strict();
export type Strategy = z.output<typeof StrategySchema>;

/** States that count against the failure budget. */
export const FAILED_STATES: ReadonlySet<RolloutHostState> = new Set(['failed', 'rolled-back', 'unreachable']);
/** States a host never leaves within its rollout. */
export const SETTLED_STATES: ReadonlySet<RolloutHostState> = new Set(['succeeded', 'rolled-back', 'failed', 'unreachable', 'skipped']);

/** An amount made concrete for `total` hosts: a percentage rounds down (a budget of 10% of 5 hosts is 0). */
export function resolveAmount(amount: Amount, total: number): number {
  return 'count' in amount ? amount.count : Math.floor((amount.percent * total) / 100);
}

// The flag syntax lives in shared/ so swarmctl parses amounts the same way without importing the controller.
export { formatAmount, parseAmount } from '../../shared/rollout-strategy.js';
