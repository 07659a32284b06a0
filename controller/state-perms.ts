// Who may write, swap or read the controller's state directory: refuse what another user could change, so
// `serve` never trusts a pki/ or database someone else put there, and keep the secrets in it private.
import { readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { controllerError } from './errors.js';

/** What the checks need to know about one path (from stat). */
export interface PathFacts {
  path: string;
  uid: number;
  /** st_mode: type and permission bits. */
  mode: number;
  isDirectory: boolean;
}

const GROUP_OTHER_WRITE = 0o022;
const GROUP_OTHER_ANY = 0o077;
const STICKY = 0o1000;

const octal = (mode: number): string => (mode & 0o7777).toString(8);
const trusted = (uid: number, self: number): boolean => uid === self || uid === 0;

/**
 * A directory above the state directory (up to /). Pure. Another user who owns it, or may write it, can
 * rename our directory away and put theirs in its place, unless the sticky bit stops them (as in /tmp, 1777).
 */
export function judgeParent(f: PathFacts, self: number): string | undefined {
  if (!trusted(f.uid, self)) {
    return `${f.path}, a parent of the state directory, belongs to uid ${f.uid} (neither this user, uid ${self}, nor root), who could swap the state directory; move the state directory, or run chown ${self} ${f.path}`;
  }
  if ((f.mode & GROUP_OTHER_WRITE) !== 0 && (f.mode & STICKY) === 0) {
    return `${f.path}, a parent of the state directory, is writable by other users (mode ${octal(f.mode)}) without the sticky bit, so they could swap the state directory; run chmod go-w ${f.path} (or chmod +t), or move the state directory`;
  }
  return undefined;
}

/**
 * The state directory and the directories inside it (pki/, releases/, operators/). Pure. Nobody else may
 * write them, sticky or not: a file they create there (a pki/ of their own, a database journal) is trusted.
 */
export function judgeOwnDirectory(f: PathFacts, self: number): string | undefined {
  if (!f.isDirectory) return `${f.path} is not a directory; restore the state directory`;
  if (!trusted(f.uid, self)) return `${f.path} belongs to uid ${f.uid}, not to this user (uid ${self}) or root; run chown -R ${self} ${f.path}`;
  if ((f.mode & GROUP_OTHER_WRITE) !== 0) return `${f.path} is writable by other users (mode ${octal(f.mode)}); run chmod 700 ${f.path}`;
  return undefined;
}

/** A file in the state directory. Pure. `secret` files (the database and its journals) may not even be read by others. */
export function judgeFile(f: PathFacts, self: number, secret: boolean): string | undefined {
  if (!trusted(f.uid, self)) return `${f.path} belongs to uid ${f.uid}, not to this user (uid ${self}) or root; run chown ${self} ${f.path}`;
  const forbidden = secret ? GROUP_OTHER_ANY : GROUP_OTHER_WRITE;
  if ((f.mode & forbidden) !== 0) return `${f.path} is ${secret ? 'readable or writable' : 'writable'} by other users (mode ${octal(f.mode)}); run chmod ${secret ? '600' : 'go-w'} ${f.path}`;
  return undefined;
}

async function factsOf(path: string): Promise<PathFacts | undefined> {
  try {
    const st = await stat(path);
    return { path, uid: st.uid, mode: st.mode, isDirectory: st.isDirectory() };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const refuse = (why: string): never => {
  throw controllerError('SWARM_ERR_STATE_DIR_PERMISSIONS', why);
};

export const currentUid = (): number => process.getuid?.() ?? 0;

/**
 * Check every existing directory above `dir` up to /, along the path as given and along its real path
 * (a symlink on the way leads elsewhere). `dir` itself need not exist yet (init).
 */
export async function assertParentsSafe(dir: string, self = currentUid()): Promise<void> {
  const starts = new Set([resolve(dir)]);
  const real = await realpath(dir).catch(() => undefined);
  if (real) starts.add(real);
  for (const start of starts) {
    for (let p = dirname(start); ; p = dirname(p)) {
      const f = await factsOf(p);
      if (f) {
        const why = judgeParent(f, self);
        if (why) refuse(why);
      }
      if (dirname(p) === p) break;
    }
  }
}

/** The state directory itself (it exists): ours or root's, and nobody else may write it. */
export async function assertOwnStateDir(stateDir: string, self = currentUid()): Promise<void> {
  const f = await factsOf(stateDir);
  const why = f ? judgeOwnDirectory(f, self) : `${stateDir} does not exist`;
  if (why) refuse(why);
}

/** The SQLite database and its companions, and store.json (which engine holds the data, for --store postgres://). */
export const DATABASE_FILES = ['swarm.db', 'swarm.db-wal', 'swarm.db-shm', 'swarm.db-journal', 'store.json'];

/**
 * The whole state directory as `serve` (and break-glass issuing) find it: its parents, itself, pki/ and
 * every file in it, releases/, operators/, the database files. Throws SWARM_ERR_STATE_DIR_PERMISSIONS
 * naming the first problem and the chmod or chown that fixes it.
 */
export async function assertStateDirSafe(stateDir: string, self = currentUid()): Promise<void> {
  await assertParentsSafe(stateDir, self);
  for (const sub of ['', 'pki', 'releases', 'operators']) {
    const f = await factsOf(join(stateDir, sub));
    if (!f) continue;
    const why = judgeOwnDirectory(f, self);
    if (why) refuse(why);
  }
  const pki = join(stateDir, 'pki');
  for (const name of await readdir(pki).catch(() => [] as string[])) {
    const f = await factsOf(join(pki, name));
    // Keys are refused by readPrivateKeyFile too; here every file of pki/ must be ours and unwritable by others.
    const why = f && (f.isDirectory ? judgeOwnDirectory(f, self) : judgeFile(f, self, name.endsWith('.key')));
    if (why) refuse(why);
  }
  for (const name of DATABASE_FILES) {
    const f = await factsOf(join(stateDir, name));
    // Read bits too wide (a database from an older init) are narrowed by openSqliteStore; ownership and write are not ours to fix.
    const why = f && judgeFile(f, self, false);
    if (why) refuse(why);
  }
}
