// Bounded concurrency: at most N operations in flight, for a known list (forEachLimited) or a stream of tasks (BoundedPool).
// Hand-rolled rather than p-limit (only a transitive dependency here): installs run this per file, so no queue
// entry or promise is allocated per item beyond the operation's own.

/**
 * Run `fn` over `items`, at most `limit` at a time, in order of start. After the first failure no new item is
 * started; the ones in flight finish, then that failure is thrown.
 */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        await fn(items[index]!, index);
      } catch (err) {
        if (!failed) {
          failed = true;
          failure = err;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(items.length, limit >= 1 ? Math.floor(limit) : 1) }, worker));
  if (failed) throw failure;
}

/**
 * Tasks that arrive one at a time (a parser handing out files): `submit` waits only while `limit` run. A failure
 * goes to onFailure at once, makes later submits throw it, and is thrown by drain().
 */
export class BoundedPool {
  private active = 0;
  private failed = false;
  private failure: unknown;
  /** Submitters waiting for a free slot, then callers of drain/settle waiting for none in flight. */
  private readonly slotWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly limit: number, private readonly onFailure: (err: unknown) => void = () => undefined) {
    if (!(limit >= 1)) throw new RangeError(`BoundedPool limit must be at least 1, got ${limit}`);
  }

  /** Operations running now. */
  get inFlight(): number {
    return this.active;
  }

  /** Start a task; resolves once it started (waiting only while the pool is full). Throws an earlier failure. */
  async submit(task: () => Promise<void>): Promise<void> {
    while (this.active >= this.limit) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    if (this.failed) throw this.failure;
    this.active += 1;
    let running: Promise<void>;
    try {
      running = task();
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(this.finish, this.fail);
  }

  /** Wait for every task; throws the first failure. */
  async drain(): Promise<void> {
    await this.settle();
    if (this.failed) throw this.failure;
  }

  /** Wait for every task, ignoring failures (cleanup). */
  async settle(): Promise<void> {
    while (this.active > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private readonly finish = (): void => {
    this.active -= 1;
    this.slotWaiters.shift()?.();
    if (this.active === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  };

  private readonly fail = (err: unknown): void => {
    if (!this.failed) {
      this.failed = true;
      this.failure = err;
    }
    try {
      this.onFailure(err);
    } finally {
      this.finish();
    }
  };
}

/**
 * A counting semaphore for long-lived holders that end on their own schedule (a push's body, sent before its answer
 * comes): `acquire` resolves with a release function (idempotent) once a slot is free, first come first served; an
 * abort while waiting rejects with the signal's reason and takes no slot.
 */
export class Slots {
  private held = 0;
  private readonly waiters: Array<{ grant: () => void }> = [];

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError(`Slots limit must be at least 1, got ${limit}`);
  }

  /** Slots held now. */
  get inUse(): number {
    return this.held;
  }

  /** Callers waiting for a slot now. */
  get waiting(): number {
    return this.waiters.length;
  }

  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.held += 1;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.held -= 1;
          this.waiters.shift()?.grant();
        });
      };
      const waiter = { grant };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal!.reason);
      };
      if (this.held < this.limit) {
        grant();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }
}
