// The system test's log: steps and checks on stdout and in system-test.log (the trimmed log), command outputs in full.log.
import { appendFileSync, writeFileSync } from 'node:fs';
import type { ExecResult } from './container.js';

export type CheckState = 'pass' | 'fail' | 'not-run';

export interface Check {
  id: string;
  title: string;
  state: CheckState;
  detail: string;
}

/** Cut a command's output to its last lines, each line to 300 characters: the trimmed log stays readable. */
export function trimOutput(text: string, lines = 8): string[] {
  // eslint-disable-next-line no-control-regex -- terminal colour codes from journalctl or systemctl
  const all = text.replace(/\x1b\[[0-9;]*m/g, '').split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');
  const kept = all.length > lines ? [`... (${all.length - lines} lines above)`, ...all.slice(-lines)] : all;
  return kept.map((l) => (l.length > 300 ? `${l.slice(0, 300)}...` : l));
}

export class Report {
  private readonly t0 = Date.now();
  readonly checks = new Map<string, Check>();

  constructor(private readonly logFile: string, private readonly fullFile: string, planned: [string, string][]) {
    writeFileSync(logFile, '');
    writeFileSync(fullFile, '');
    for (const [id, title] of planned) this.checks.set(id, { id, title, state: 'not-run', detail: '' });
  }

  private stamp(): string {
    return `+${((Date.now() - this.t0) / 1000).toFixed(1).padStart(6)}s`;
  }

  /** A line in both logs and on stdout. */
  say(line: string): void {
    const text = `${this.stamp()} ${line}`;
    process.stdout.write(`${text}\n`);
    appendFileSync(this.logFile, `${text}\n`);
    appendFileSync(this.fullFile, `${text}\n`);
  }

  step(title: string): void {
    this.say('');
    this.say(`== ${title}`);
  }

  /** A command and its outcome: one line plus a few lines of output in the trimmed log, everything in full.log. */
  command(where: string, display: string, r: ExecResult, outputLines = 4): void {
    const how = r.signal ? `killed (${r.signal})` : `exit ${r.code}`;
    this.say(`[${where}] $ ${display}  -> ${how} in ${(r.ms / 1000).toFixed(1)} s`);
    for (const l of trimOutput(`${r.stdout}\n${r.stderr}`, outputLines)) {
      process.stdout.write(`          ${l}\n`);
      appendFileSync(this.logFile, `          ${l}\n`);
    }
    appendFileSync(this.fullFile, `--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}\n---\n`);
  }

  /** Anything bulky (journals, JSON) for full.log only. */
  detail(title: string, text: string): void {
    appendFileSync(this.fullFile, `--- ${title}\n${text}\n---\n`);
  }

  check(id: string, ok: boolean, detail: string): boolean {
    const c = this.checks.get(id) ?? { id, title: id, state: 'not-run' as CheckState, detail: '' };
    // A check asserted on several hosts fails if any of them fails.
    c.state = !ok || c.state === 'fail' ? 'fail' : 'pass';
    c.detail = c.detail ? `${c.detail}; ${detail}` : detail;
    this.checks.set(id, c);
    this.say(`${ok ? 'PASS' : 'FAIL'} [${id}] ${detail}`);
    return ok;
  }

  /** The table at the end and the plain closing line (`N passed, N failed, N skipped`). */
  summary(): { passed: number; failed: number; notRun: number } {
    this.say('');
    this.say('== summary');
    let passed = 0;
    let failed = 0;
    let notRun = 0;
    for (const c of this.checks.values()) {
      if (c.state === 'pass') passed++;
      else if (c.state === 'fail') failed++;
      else notRun++;
      this.say(`${c.state.toUpperCase().padEnd(7)} ${c.id}: ${c.title}`);
    }
    const line = `system: ${passed} passed, ${failed + notRun} failed, 0 skipped`;
    this.say(`total ${Math.round((Date.now() - this.t0) / 1000)} s; ${notRun} check(s) not run count as failed`);
    process.stdout.write(`${line}\n`);
    appendFileSync(this.logFile, `${line}\n`);
    return { passed, failed, notRun };
  }
}
