// Batched durability: fsync written files in parallel (bounded) while extraction goes on, then the directories.
import { constants as fsc } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** How many fsyncs run at once: enough for the filesystem to group them into few journal commits. */
export const SYNC_CONCURRENCY = 32;

/**
 * Takes ownership of open file handles: syncs and closes each. add() waits when too many are in
 * flight (so open descriptors stay bounded); drain() waits for all and reports the first failure.
 */
export class SyncQueue {
  private inFlight = new Set<Promise<void>>();
  private failure: unknown;

  constructor(private readonly concurrency = SYNC_CONCURRENCY) {}

  async add(fh: FileHandle): Promise<void> {
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    if (this.failure !== undefined) {
      await fh.close().catch(() => undefined);
      throw this.failure;
    }
    const task = (async () => {
      try {
        await fh.datasync();
      } catch (err) {
        this.failure ??= err;
      } finally {
        await fh.close().catch(() => undefined);
      }
    })();
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }

  /** Wait until every handle is synced and closed; throws the first sync error. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
  }

  /** Wait for everything in flight without throwing (cleanup after a refusal). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled(this.inFlight);
  }
}

/** fsync directories, a bounded number at a time. */
export async function fsyncDirs(dirs: Iterable<string>, concurrency = SYNC_CONCURRENCY): Promise<void> {
  const list = [...dirs];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < list.length) {
      const dir = list[next++]!;
      const fh = await open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
}
