// The controller's release-signing public key (serve --release-signing-key): read once at start, refused unless Ed25519.
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { sharedError } from '../../shared/errors.js';

/** The key's PEM; a missing, unreadable or non-Ed25519 file stops serve with a line naming it. */
export async function readReleaseSigningKey(file: string): Promise<string> {
  const path = resolve(file);
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw sharedError('SWARM_ERR_CONFIG_UNREADABLE', `--release-signing-key ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
  let type: string | undefined;
  try {
    type = createPublicKey(pem).asymmetricKeyType;
  } catch (err) {
    throw sharedError('SWARM_ERR_CONFIG_INVALID', `--release-signing-key ${path} is not a PEM public key (give the .pub file that swarmctl release keygen wrote)`, { cause: err });
  }
  if (type !== 'ed25519') throw sharedError('SWARM_ERR_CONFIG_INVALID', `--release-signing-key ${path} is a ${type ?? 'unknown'} key; release signing keys are Ed25519 (swarmctl release keygen)`);
  return pem;
}
