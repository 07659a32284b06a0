// A PKI directory on disk: ca.crt, <base>.crt, <base>.key (0600 in 0700), written atomically.
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { access, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isSwarmError } from '../shared/errors.js';
import { ensurePrivateDir, writeFileAtomic, writePrivateKeyFile } from '../shared/files.js';
import { pkiError } from './errors.js';

export interface IdentityFiles {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/**
 * Write one identity into dir. The key goes first, the certificate last, so a reader that
 * sees the new certificate also finds its key (loaders check that they match).
 */
export async function writeIdentityFiles(dir: string, base: string, files: IdentityFiles): Promise<void> {
  await ensurePrivateDir(dir);
  await writeFileAtomic(join(dir, 'ca.crt'), files.caPem, 0o644);
  await writePrivateKeyFile(join(dir, `${base}.key`), files.keyPem);
  await writeFileAtomic(join(dir, `${base}.crt`), files.certPem, 0o644);
}

/** Refuse to overwrite an existing identity (init, join). */
export async function assertNoIdentity(dir: string, bases: readonly string[]): Promise<void> {
  for (const name of ['ca.crt', 'ca.key', ...bases.flatMap((b) => [`${b}.crt`, `${b}.key`])]) {
    const path = join(dir, name);
    const exists = await access(path).then(() => true, () => false);
    if (exists) throw pkiError('SWARM_ERR_PKI_EXISTS', `${path} already exists; refusing to overwrite an identity (move it away first if you mean to replace it)`);
  }
}

/**
 * Make sure identity files can be written into dir before anything is spent on them (a join token):
 * create it 0700 when missing, then create, write, fsync and remove a probe file there.
 */
export async function preparePkiDir(dir: string): Promise<void> {
  const probe = join(dir, `.swarm-probe.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await ensurePrivateDir(dir);
    const fh = await open(probe, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
    try {
      await fh.writeFile('probe\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await unlink(probe);
  } catch (err) {
    if (isSwarmError(err)) throw err; // a directory others can write: its own code and advice
    await unlink(probe).catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const hint = code === 'EACCES' || code === 'EPERM' ? 'run it as root (sudo) or choose another --pki-dir' : 'choose another --pki-dir';
    throw pkiError('SWARM_ERR_PKI_DIR_UNWRITABLE', `cannot write identity files in ${dir} (${code}); ${hint}`, { cause: err });
  }
}
