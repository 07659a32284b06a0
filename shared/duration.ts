// Human durations for flags and config ("90s", "15m", "1h30m", "7d", "500ms"): parsed strictly, to milliseconds.

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+)(ms|s|m|h|d)/gy;

/** Milliseconds of a duration like "1h30m"; undefined when the text is not one (callers name the flag). */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (t === '' || t.length > 32) return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let end = 0;
  for (let m = PART.exec(t); m; m = PART.exec(t)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    end = PART.lastIndex;
  }
  return end === t.length && Number.isSafeInteger(total) ? total : undefined;
}

/** "1h02m", "5m", "45s", "0s": durations as people read them (swarmctl's live view and the dashboard). */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return sec > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${m}m`;
  return `${sec}s`;
}
