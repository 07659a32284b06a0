// Small files are written in the background, a bounded number at a time, so the parser never waits on open/close.
import { constants as fsc } from 'node:fs';
import { closeFd, fchmodFd, openFd, writevAll } from './fd.js';

/** Files up to this size are buffered whole (tar-stream already holds their bytes) and written in the background. */
export const SMALL_FILE_BYTES = 128 * 1024;
/** In-flight background writes: bounds memory (x SMALL_FILE_BYTES) and open descriptors. */
export const WRITE_CONCURRENCY = 8;

const CREATE_FLAGS = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;

/** Create a new file (never through or onto anything existing) with exactly these bytes and mode. */
export async function writeNewFile(path: string, chunks: Buffer[], mode: number, fixMode: boolean): Promise<void> {
  const fd = await openFd(path, CREATE_FLAGS, mode);
  try {
    await writevAll(fd, chunks);
    if (fixMode) await fchmodFd(fd, mode);
  } finally {
    await closeFd(fd);
  }
}

export class WritePool {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;

  constructor(private readonly onFailure: (err: unknown) => void, private readonly concurrency = WRITE_CONCURRENCY) {}

  /** Start a write; waits only while the pool is full. Failures go to onFailure (and drain()). */
  async submit(task: () => Promise<void>): Promise<void> {
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
    const p = task().catch((err: unknown) => {
      this.failure ??= err;
      this.onFailure(err);
    });
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Wait for every write; throws the first failure. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
  }

  /** Wait for every write, ignoring failures (cleanup). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled(this.inFlight);
  }
}
