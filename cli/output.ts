// swarmctl output: aligned tables for people, one JSON document for scripts.
import { escapeUnsafeChars, escapeUnsafeJson } from '../shared/printable.js';

export interface Out {
  write(s: string): void;
}

/**
 * The one gate between data and an operator's terminal: control characters (C0, DEL, C1), bidi overrides and
 * zero-width characters are shown as visible escapes (`\x1b`, `\u202e`). Reports are checked at the controller,
 * but a string can reach the store by other paths (an older controller, a database edit): every human output
 * goes through here; `--json` output gets the same characters as JSON `\u` escapes (the same value for scripts).
 */
export function terminalSafe(value: string): string {
  return escapeUnsafeChars(value);
}

/** One line of human output, made terminal-safe. */
export function printLine(out: Out, line: string): void {
  out.write(`${terminalSafe(line)}\n`);
}

export function printJson(out: Out, value: unknown): void {
  out.write(`${escapeUnsafeJson(JSON.stringify(value, null, 2))}\n`);
}

/** A plain aligned table; empty cells print as "-". */
export function printTable(out: Out, headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | boolean | null | undefined>>): void {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : terminalSafe(String(c)))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  out.write(`${terminalSafe(line(headers))}\n`);
  for (const r of cells) out.write(`${line(r)}\n`);
}

/** "in 3d 4h", "5m ago": short relative times for tables. */
export function relativeTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const diff = Date.parse(iso) - now;
  const abs = Math.abs(diff);
  const units: Array<[number, string]> = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'm'], [1000, 's']];
  let text = '0s';
  for (const [ms, u] of units) {
    if (abs >= ms) {
      text = `${Math.floor(abs / ms)}${u}`;
      break;
    }
  }
  return diff >= 0 ? `in ${text}` : `${text} ago`;
}

export function shortId(id: string | null | undefined): string {
  return id ? id.slice(0, 12) : '-';
}
