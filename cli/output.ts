// swarmctl output: aligned tables for people, one JSON document for scripts.

export interface Out {
  write(s: string): void;
}

export function printJson(out: Out, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A plain aligned table; empty cells print as "-". */
export function printTable(out: Out, headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | boolean | null | undefined>>): void {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  out.write(`${line(headers)}\n`);
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
