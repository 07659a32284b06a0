// Rollout strategy defaults and the flag syntax of amounts, shared by the controller (missing fields) and swarmctl (flags).
import { LIMITS } from './limits.js';

/** A count of hosts, or a percentage of a rollout's hosts (the wire shape of AmountJsonSchema). */
export type AmountValue = { count: number } | { percent: number };

/**
 * The strategy a rollout gets for every field left out (DESIGN.md §7 flags): one canary, waves of a quarter of the
 * hosts, ten pushes at once, no failure allowed, no pause between waves, five minutes per host.
 */
export const ROLLOUT_DEFAULTS = Object.freeze({
  canary: 1,
  batch: Object.freeze({ percent: 25 }) as AmountValue,
  maxParallel: 10,
  maxFailures: Object.freeze({ count: 0 }) as AmountValue,
  pauseBetweenMs: 0,
  hostDeadlineMs: LIMITS['rollout.default-host-deadline'].value,
});

/** Parse "3" or "25%" (flags): undefined when it is neither. */
export function parseAmount(text: string): AmountValue | undefined {
  const m = /^(\d{1,7})(%?)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[2] === '%') return n <= 100 ? { percent: n } : undefined;
  return { count: n };
}

/** "3" or "25%": how an amount is written on the command line and shown back. */
export function formatAmount(amount: AmountValue): string {
  return 'count' in amount ? String(amount.count) : `${amount.percent}%`;
}
