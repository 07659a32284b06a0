// Delete a directory tree with a bounded number of filesystem calls in flight (fs.rm recursive starts one per entry at once).
import { lstat, readdir, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { forEachLimited } from '../../shared/limit-concurrency.js';

/** The filesystem calls removeTree makes (a seam for tests). */
export interface RemoveTreeFs {
  lstat(path: string): Promise<{ isDirectory(): boolean }>;
  readdir(path: string): Promise<string[]>;
  unlink(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
}

const nodeFs: RemoveTreeFs = { lstat, readdir: (p) => readdir(p), unlink, rmdir };

/** Unlinks in flight at once: enough to keep the disk busy, few enough that a 5,000-file release costs no memory spike. */
export const REMOVE_CONCURRENCY = 16;

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * `rm -rf path` without following symlinks, at most `concurrency` unlinks in flight. A missing path is fine.
 * Directories are walked depth first, one at a time, so memory holds one directory listing per level.
 */
export async function removeTree(path: string, options: { concurrency?: number; fs?: RemoveTreeFs } = {}): Promise<void> {
  const fs = options.fs ?? nodeFs;
  const concurrency = Math.max(1, options.concurrency ?? REMOVE_CONCURRENCY);
  let st: { isDirectory(): boolean };
  try {
    st = await fs.lstat(path);
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  if (!st.isDirectory()) {
    await fs.unlink(path).catch((err: unknown) => {
      if (!isMissing(err)) throw err;
    });
    return;
  }
  await removeDirectory(path, fs, concurrency);
}

async function removeDirectory(dir: string, fs: RemoveTreeFs, concurrency: number): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  const subdirs: string[] = [];
  await forEachLimited(names, concurrency, async (name) => {
    const child = join(dir, name);
    try {
      await fs.unlink(child);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // unlink(2) on a directory: EISDIR on Linux, EPERM by POSIX
      if (code === 'EISDIR' || code === 'EPERM') subdirs.push(child);
      else if (code !== 'ENOENT') throw err;
    }
  });
  for (const sub of subdirs) await removeDirectory(sub, fs, concurrency);
  await fs.rmdir(dir).catch((err: unknown) => {
    if (!isMissing(err)) throw err;
  });
}
