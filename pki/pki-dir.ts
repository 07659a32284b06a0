// A PKI directory on disk: ca.crt, <base>.crt, <base>.key (0600 in 0700), written atomically.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
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
