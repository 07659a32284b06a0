// Batched durability: files are closed as soon as written and made durable together at the end (syncfs, or fsync each).
import { execFile } from 'node:child_process';
import { constants as fsc } from 'node:fs';
import { forEachLimited } from '../../shared/limit-concurrency.js';
import { limitValue } from '../../shared/limits.js';
import { closeFd, fsyncFd, openFd } from './fd.js';

/**
 * How many fsyncs run at once. libuv has 4 threads by default: syncing while extracting would
 * stall the writes behind them, so syncs wait for the end, where the first one commits the
 * filesystem journal for all the others (they then cost little more than the syscall).
 */
export const SYNC_CONCURRENCY = 8;

async function syncPath(path: string, flags: number): Promise<void> {
  const fd = await openFd(path, flags);
  try {
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}

/** fsync paths, a bounded number at a time; throws the first failure after all settled. */
export async function fsyncPaths(paths: Iterable<string>, flags: number, concurrency = SYNC_CONCURRENCY): Promise<void> {
  await forEachLimited([...paths], concurrency, (path) => syncPath(path, flags));
}

/** Files written during an extraction, to fsync before the release is published. */
export class SyncQueue {
  private readonly files: string[] = [];

  /** Remember a written (and closed) file for the final sync. */
  addPath(path: string): void {
    this.files.push(path);
  }

  /** fsync every file written (O_NOFOLLOW: the paths are ours, never links). */
  async drain(): Promise<void> {
    await fsyncPaths(this.files, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  }
}

/** fsync directories, a bounded number at a time. */
export function fsyncDirs(dirs: Iterable<string>, concurrency = SYNC_CONCURRENCY): Promise<void> {
  return fsyncPaths(dirs, fsc.O_RDONLY | fsc.O_DIRECTORY, concurrency);
}

/**
 * syncfs(2) of the filesystem holding `path`, through coreutils `sync -f` (Node has no binding): one call
 * makes every file and directory written there durable, the same guarantee as `tar -xzf && sync -f`, for a
 * fraction of the cost of thousands of fsyncs. False when it is unavailable or fails: callers then fsync
 * each path, which is never less durable.
 */
export function syncFilesystem(path: string, timeoutMs = limitValue('updater.install.sync-timeout')): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('sync', ['-f', '--', path], { timeout: timeoutMs, shell: false }, (err) => resolve(!err));
  });
}
