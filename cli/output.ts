// swarmctl output: aligned tables for people, one JSON document for scripts.
import { escapeUnsafeChars, escapeUnsafeJson } from '../shared/printable.js';
import { painter, type Colour } from '../shared/terminal.js';

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

/** The colour of a state word in a table cell, so failures stand out at a glance (only on a colour terminal). */
const STATE_COLOURS: Readonly<Record<string, Colour>> = {
  yes: 'green', ok: 'green', valid: 'green', succeeded: 'green', done: 'green', committed: 'green', open: 'green',
  no: 'red', failing: 'red', failed: 'red', revoked: 'red', unreachable: 'red', 'rolled-back': 'red', aborted: 'red',
  degraded: 'yellow', pending: 'yellow', expired: 'yellow', paused: 'yellow', busy: 'yellow', pushing: 'yellow', skipped: 'dim',
};

/** A plain aligned table; empty cells print as "-"; state words are coloured on a colour terminal (never with NO_COLOR). */
export function printTable(out: Out, headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | boolean | null | undefined>>): void {
  const paint = painter(out);
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : terminalSafe(String(c)))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  // Colour goes around the text, padding outside it, so columns stay aligned.
  const cell = (c: string, i: number, last: boolean, styled: boolean): string => {
    const colour = styled ? STATE_COLOURS[c] : undefined;
    const text = colour ? paint(colour, c) : c;
    return last ? text : text + ' '.repeat(Math.max(0, widths[i]! - c.length));
  };
  const line = (r: readonly string[], styled: boolean): string => r.map((c, i) => cell(c, i, i === r.length - 1, styled)).join('  ').trimEnd();
  out.write(`${terminalSafe(line(headers, false))}\n`);
  for (const r of cells) out.write(`${line(r, true)}\n`);
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
