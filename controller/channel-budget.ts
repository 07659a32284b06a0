// The per-channel report budget: a token bucket refilled each heartbeat, and a decaying count of dropped reports (hardening item 8).
import { LIMITS } from '../shared/limits.js';

export interface ReportBudgetPolicy {
  /** Tokens earned per heartbeat. */
  readonly perHeartbeat: number;
  /** Bucket size. */
  readonly burst: number;
  /** Dropped reports (decaying at the refill rate) past which the channel is closed. */
  readonly droppedBeforeClose: number;
  readonly heartbeatMs: number;
}

export interface ReportBudget {
  readonly tokens: number;
  readonly dropped: number;
  readonly at: number;
}

export type BudgetVerdict = 'accept' | 'drop' | 'close';

export function defaultBudgetPolicy(heartbeatMs: number): ReportBudgetPolicy {
  return {
    perHeartbeat: LIMITS['channels.reports-per-heartbeat'].value,
    burst: LIMITS['channels.report-burst'].value,
    droppedBeforeClose: LIMITS['channels.dropped-before-close'].value,
    heartbeatMs,
  };
}

/** A new channel starts with a full bucket: its first report and a reconnect burst always pass. */
export function freshBudget(policy: ReportBudgetPolicy, now: number): ReportBudget {
  return { tokens: policy.burst, dropped: 0, at: now };
}

/** Spend one report: accepted while a token is left, else dropped, and past the drop threshold the channel closes. */
export function spendReport(budget: ReportBudget, now: number, policy: ReportBudgetPolicy): { budget: ReportBudget; verdict: BudgetVerdict } {
  const earned = (Math.max(0, now - budget.at) * policy.perHeartbeat) / policy.heartbeatMs;
  const tokens = Math.min(policy.burst, budget.tokens + earned);
  const dropped = Math.max(0, budget.dropped - earned);
  if (tokens >= 1) return { budget: { tokens: tokens - 1, dropped, at: now }, verdict: 'accept' };
  const next = { tokens, dropped: dropped + 1, at: now };
  return { budget: next, verdict: next.dropped > policy.droppedBeforeClose ? 'close' : 'drop' };
}
