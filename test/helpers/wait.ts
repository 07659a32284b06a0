// The one polling wait of the tests, for outcomes no event announces (state in another process, a file, an API).
// Where an event exists, await it instead.

export interface PollOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Between checks (default 50 ms). */
  everyMs?: number;
  /** Keep polling when the check throws, and name the last error on timeout (default: the error ends the wait). */
  retryErrors?: boolean;
}

/** Check until it returns a value other than undefined, bounded in time and in count. */
export async function pollUntil<T>(what: string, check: () => T | undefined | Promise<T | undefined>, options: PollOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const everyMs = options.everyMs ?? 50;
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; i <= Math.ceil(timeoutMs / everyMs) + 10; i++) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      if (!options.retryErrors) throw err;
      last = err;
    }
    if (performance.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
