// A clock that moves only when a test says so: timers fire in order as advance() passes their time.
import type { Clock } from '../../shared/clock.js';

export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): NodeJS.Timeout {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return { id, unref() { return this; }, ref() { return this; }, hasRef: () => false } as unknown as NodeJS.Timeout;
  }

  clearTimeout(handle: NodeJS.Timeout): void {
    this.#timers.delete((handle as unknown as { id: number }).id);
  }

  delay(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const t = this.setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => {
        this.clearTimeout(t);
        reject(signal.reason);
      }, { once: true });
    });
  }

  /** Timers waiting. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Move time forward, firing every timer that falls due, earliest first. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (let i = 0; i < 10_000; i++) {
      const due = [...this.#timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = due[1].at;
      due[1].fn();
    }
    this.#now = until;
  }
}
