// The active/prev symlinks: relative `releases/<dirName>`, replaced only by symlink-to-temp + rename(2).
import { randomBytes } from 'node:crypto';
import { readdir, readlink, rename, symlink, unlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fsyncDir } from '../../shared/files.js';

export type LinkName = 'active' | 'prev';
const TEMP_PREFIX = '.swarm-link-';

/** The dirName a link points at (relative `releases/X` or an absolute path into root/releases), or null. */
export async function readLinkTarget(root: string, name: LinkName): Promise<string | null> {
  let target: string;
  try {
    target = await readlink(join(root, name));
  } catch {
    return null; // missing, or not a symlink
  }
  const abs = resolve(root, target);
  const releases = join(resolve(root), 'releases');
  if (resolve(abs, '..') !== releases) return null;
  return basename(abs);
}

/** Point root/name at releases/dirName atomically (or remove it when dirName is null); fsyncs root. */
export async function pointLink(root: string, name: LinkName, dirName: string | null): Promise<void> {
  const link = join(root, name);
  if (dirName === null) {
    await unlink(link).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  } else {
    const tmp = join(root, `${TEMP_PREFIX}${name}-${randomBytes(6).toString('hex')}`);
    await symlink(`releases/${dirName}`, tmp);
    try {
      await rename(tmp, link);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }
  await fsyncDir(root);
}

/** Remove temp links a crash left behind (never the real ones). */
export async function removeStaleLinkTemps(root: string): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith(TEMP_PREFIX)).map((n) => unlink(join(root, n)).catch(() => undefined)));
}
