// The clock seam: time and timers that tests can control.

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): NodeJS.Timeout;
  clearTimeout(handle: NodeJS.Timeout): void;
  /** Resolve after ms (for backoff between retries, never for waiting on an event in tests). */
  delay(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (handle: NodeJS.Timeout) => clearTimeout(handle),
  delay: (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        clearTimeout(t);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
});

/** Wait ms, or less when the signal aborts: resolves either way (for loops that re-check their own state). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Monotonic time and pauses, for deadlines and windows that a wall-clock step (NTP, RTC reset) must not move. */
export interface MonotonicClock {
  /** Milliseconds from an arbitrary origin; never goes back. */
  now(): number;
  /** Wait ms, or less when the signal aborts; resolves either way. */
  pause(ms: number, signal?: AbortSignal): Promise<void>;
}

export const monotonicClock: MonotonicClock = Object.freeze({ now: () => performance.now(), pause });

