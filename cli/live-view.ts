// The rollout live view as pure functions of the rollout document: the header, a row per wave with a progress bar,
// each failure's host and reason, one line per event for non-terminals, and the exit code a rollout earns.
import type { RolloutEvent, RolloutJson } from '../shared/rollout-api.js';
import { formatDuration } from '../shared/duration.js';
import { formatAmount } from '../shared/rollout-strategy.js';
import type { Colour } from '../shared/terminal.js';
import { shortId, terminalSafe } from './output.js';

export type Paint = (colour: Colour, text: string) => string;
const plain: Paint = (_c, t) => t;

/** States after which nothing more happens without an operator (the live view stops there). */
export const SETTLED_ROLLOUT_STATES: ReadonlySet<RolloutJson['state']> = new Set(['done', 'aborted', 'paused']);

const FAILED_HOST_STATES: ReadonlySet<string> = new Set(['failed', 'rolled-back', 'unreachable']);

const STATE_COLOUR: Readonly<Record<string, Colour>> = { done: 'green', succeeded: 'green', paused: 'yellow', pending: 'yellow', aborted: 'red', failed: 'red', 'rolled-back': 'red', unreachable: 'red' };

export { formatDuration };

/** 0 only when the rollout ended done with every host succeeded or skipped (DESIGN.md §7: 1 on failure). */
export function rolloutExitCode(r: Pick<RolloutJson, 'state' | 'hosts'>): 0 | 1 {
  return r.state === 'done' && r.hosts.every((h) => h.state === 'succeeded' || h.state === 'skipped') ? 0 : 1;
}

/** A fixed-width bar: `#` done, `x` failed or rolled back, `>` in flight, `.` pending. */
export function progressBar(w: RolloutJson['waves'][number], width = 20): string {
  if (w.hosts === 0) return `[${' '.repeat(width)}]`;
  const cells = (n: number): number => Math.round((n * width) / w.hosts);
  const done = cells(w.done);
  const bad = Math.min(width - done, cells(w.failed + w.rolledBack));
  const flight = Math.min(width - done - bad, cells(w.inFlight));
  return `[${'#'.repeat(done)}${'x'.repeat(bad)}${'>'.repeat(flight)}${'.'.repeat(width - done - bad - flight)}]`;
}

/** "canary 1, batch 25%, max-parallel 10, max-failures 0, pause 0s, host deadline 5m" */
export function strategySummary(s: RolloutJson['strategy']): string {
  return `canary ${s.canary}, batch ${formatAmount(s.batch)}, max-parallel ${s.maxParallel}, max-failures ${formatAmount(s.maxFailures)}, pause ${formatDuration(s.pauseBetweenMs)}, host deadline ${formatDuration(s.hostDeadlineMs)}`;
}

/** Hosts that count against the budget, each with its reason (in the order the document lists them). */
export function failureLines(r: Pick<RolloutJson, 'hosts'>, paint: Paint = plain): string[] {
  return r.hosts.filter((h) => FAILED_HOST_STATES.has(h.state)).map((h) => {
    const why = h.error ? `${terminalSafe(h.error.message)} [${terminalSafe(h.error.code)}]${h.error.detail ? ` (${terminalSafe(h.error.detail)})` : ''}` : '';
    return `  ${terminalSafe(h.name)}  ${paint('red', h.state)}  wave ${h.wave}  ${why}`.trimEnd();
  });
}

/** The whole view: header, wave table, failures. Every host-supplied string is made terminal-safe here. */
export function renderRolloutView(r: RolloutJson, now: number, paint: Paint = plain): string[] {
  const safe = terminalSafe;
  const state = paint(STATE_COLOUR[r.state] ?? 'bold', r.state) + (r.reason ? ` (${safe(r.reason)})` : '');
  const ended = r.endedAt ? Date.parse(r.endedAt) : now;
  const elapsed = formatDuration(ended - Date.parse(r.createdAt));
  const budget = `failures ${r.budget.used} of ${r.budget.allowed} allowed`;
  const lines = [
    `rollout ${safe(r.id)}  ${r.kind === 'updater' ? 'updater self-update' : 'agent'}  ${r.from ? shortId(safe(r.from)) : '(mixed)'} -> ${safe(r.version)} (${shortId(safe(r.release))})`,
    `strategy  ${strategySummary(r.strategy)}`,
    `state     ${state}   elapsed ${elapsed}   ${r.budget.used > r.budget.allowed ? paint('red', budget) : budget}`,
  ];
  const head = ['WAVE', 'HOSTS', 'DONE', 'IN FLIGHT', 'FAILED', 'ROLLED BACK', 'PENDING'];
  const rows = r.waves.map((w) => [w.index === 0 && r.strategy.canary > 0 ? '0 canary' : String(w.index), w.hosts, w.done, w.inFlight, w.failed, w.rolledBack, w.pending].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  lines.push(`${fmt(head)}  PROGRESS`);
  r.waves.forEach((w, i) => {
    const marker = w.index === r.currentWave && !SETTLED_ROLLOUT_STATES.has(r.state) ? '  <' : '';
    lines.push(`${fmt(rows[i]!)}  ${progressBar(w)}${marker}`);
  });
  const skipped = r.hosts.filter((h) => h.state === 'skipped').length;
  if (skipped > 0) lines.push(`${skipped} host(s) already on the release: skipped`);
  const failures = failureLines(r, paint);
  if (failures.length > 0) lines.push('failures:', ...failures);
  return lines;
}

/** One line per event for a log or a pipe: time, type, host and wave, what happened. */
export function formatEventLine(e: RolloutEvent): string {
  const time = e.at.length >= 19 ? e.at.slice(11, 19) : e.at;
  const where = [e.host ? terminalSafe(e.host) : '', e.wave !== null ? `wave ${e.wave}` : ''].filter(Boolean).join(' ');
  const who = [e.actor ? `by ${terminalSafe(e.actor)}` : '', e.reason ? `reason ${terminalSafe(e.reason)}` : ''].filter(Boolean).join(', ');
  return [time, terminalSafe(e.type), where, terminalSafe(e.message), who ? `(${who})` : ''].filter(Boolean).join('  ');
}

/** The closing line of a followed rollout: its state and the count of hosts by outcome. */
export function summaryLine(r: RolloutJson): string {
  const count = (s: string): number => r.hosts.filter((h) => h.state === s).length;
  const parts = [`${count('succeeded')} succeeded`, `${count('skipped')} skipped`, `${count('failed')} failed`, `${count('rolled-back')} rolled back`, `${count('unreachable')} unreachable`];
  const pending = count('pending') + count('pushing');
  if (pending > 0) parts.push(`${pending} not done`);
  return `rollout ${terminalSafe(r.id)} ${r.state}${r.reason ? ` (${terminalSafe(r.reason)})` : ''}: ${parts.join(', ')}`;
}
