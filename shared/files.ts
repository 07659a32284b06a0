// Durable file writes (temp + fsync + rename + directory fsync) and private-key permission checks.
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { sharedError } from './errors.js';

/** fsync a directory so a rename or create inside it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write a file so readers see either the old or the whole new content, even across a crash. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, mode);
  try {
    await fh.writeFile(data);
    await fh.chmod(mode); // the umask may have narrowed or widened the mode
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dir);
}

/**
 * A directory that will hold private keys: created 0700 when missing. An existing directory keeps its mode
 * (it may be a home directory named with --out), but one that others can write is refused: they could swap
 * the key, and readers refuse it too.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  const created = await makeDirs(dir, 0o700);
  if (created) {
    await chmod(dir, 0o700); // the umask may have narrowed or widened the mode
    return;
  }
  const st = await stat(dir);
  if (!st.isDirectory()) throw sharedError('SWARM_ERR_KEY_PERMISSIONS', `${dir} is not a directory; pick a directory for the keys`);
  if ((st.mode & 0o022) !== 0) {
    throw sharedError('SWARM_ERR_KEY_PERMISSIONS', `directory ${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)}); run chmod 700 ${dir} or pick another directory`);
  }
}

/**
 * `mkdir -p` that always ends: Node's `mkdir(..., { recursive: true })` retries for ever when the parent
 * exists but the child cannot be made and reports ENOENT (under /proc, /sys: a join with --pki-dir /proc/nope
 * spun at 91% CPU for 13 minutes). Here each level is tried at most twice, so it stops after at most twice
 * as many mkdir calls as the path has parts, and throws the errno error. Returns whether `dir` was created.
 */
export async function makeDirs(dir: string, mode: number): Promise<boolean> {
  const path = resolve(dir);
  try {
    await mkdir(path, { mode });
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    const parent = dirname(path);
    if (code !== 'ENOENT' || parent === path) throw err;
  }
  await makeDirs(dirname(path), mode);
  try {
    await mkdir(path, { mode });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false; // made by someone else meanwhile
    throw err; // ENOENT again with the parent present: this file system will not make it
  }
}

/** Write a private key: 0600 in a 0700 directory, atomically. */
export async function writePrivateKeyFile(path: string, pem: string): Promise<void> {
  await ensurePrivateDir(dirname(path));
  await writeFileAtomic(path, pem, 0o600);
}

/** Only we and root may own a key or its directory: another owner can chmod it open or swap it at will. */
function ownedByUsOrRoot(uid: number): boolean {
  const self = process.getuid?.();
  return self === undefined || uid === self || uid === 0;
}

/**
 * Read a private key, refusing one that others can read or write, that belongs to another user, or that
 * sits in a directory others can write or own (they could swap it).
 */
export async function readPrivateKeyFile(path: string): Promise<string> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw sharedError('SWARM_ERR_TLS_FILE_MISSING', `private key ${path} is missing; enroll this host (swarm-updater join) or point --pki-dir at the right directory`, { cause: err });
  }
  if ((st.mode & 0o077) !== 0) {
    throw sharedError('SWARM_ERR_KEY_PERMISSIONS', `private key ${path} has mode ${(st.mode & 0o777).toString(8)}; run chmod 600 ${path}`);
  }
  if (!ownedByUsOrRoot(st.uid)) {
    throw sharedError('SWARM_ERR_KEY_PERMISSIONS', `private key ${path} belongs to uid ${st.uid}, not to this user (uid ${process.getuid?.()}) or root; run chown ${process.getuid?.()} ${path}`);
  }
  const dir = dirname(path);
  const dst = await stat(dir);
  if ((dst.mode & 0o022) !== 0) {
    throw sharedError('SWARM_ERR_KEY_PERMISSIONS', `directory ${dir} holding a private key is writable by others (mode ${(dst.mode & 0o777).toString(8)}); run chmod 700 ${dir}`);
  }
  if (!ownedByUsOrRoot(dst.uid)) {
    throw sharedError('SWARM_ERR_KEY_PERMISSIONS', `directory ${dir} holding a private key belongs to uid ${dst.uid}, not to this user (uid ${process.getuid?.()}) or root; run chown ${process.getuid?.()} ${dir}`);
  }
  return readFile(path, 'utf8');
}

/** Read a file that must exist (a certificate, a CA), with an actionable error when it does not. */
export async function readRequiredFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw sharedError('SWARM_ERR_TLS_FILE_MISSING', `${what} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); check the PKI directory`, { cause: err });
  }
}
