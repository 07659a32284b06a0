// Formatting for people: durations, relative times, short ids.

// Durations as swarmctl's live view writes them: one function for both (pure, bundled into the page).
export { formatDuration } from '../../../shared/duration.js';

/** "3m ago", "in 5d", "-" for none. */
export function relativeTime(iso: string | null | undefined, now: number): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '-';
  const d = t - now;
  const abs = Math.abs(d);
  // Within a few seconds either way (the controller's clock and this browser's differ a little): now.
  if (abs < 5_000) return 'just now';
  const unit = abs < 60_000 ? `${Math.round(abs / 1000)}s` : abs < 3_600_000 ? `${Math.round(abs / 60_000)}m` : abs < 86_400_000 ? `${Math.round(abs / 3_600_000)}h` : `${Math.round(abs / 86_400_000)}d`;
  return d < 0 ? `${unit} ago` : `in ${unit}`;
}

/** The first 12 hex of a release id (swarmctl prints the same). */
export function shortId(id: string | null | undefined): string {
  return id ? id.slice(0, 12) : '-';
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

/** "2" or "25%": a strategy amount as the flags take it. */
export function formatAmount(a: { count: number } | { percent: number }): string {
  return 'count' in a ? String(a.count) : `${a.percent}%`;
}
