// Release ids (SHA-256 of the tarball bytes) and detached Ed25519 signatures over them.
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';

export const RELEASE_ID_PATTERN = /^[0-9a-f]{64}$/;

/** The release id: lowercase hex SHA-256 of the tarball bytes. */
export function releaseIdOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Sign a release id (its ASCII hex) with an Ed25519 private key; returns base64. */
export function signReleaseId(id: string, privateKeyPem: string): string {
  const key = createPrivateKey(privateKeyPem);
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError(`release signing keys must be Ed25519, got ${key.asymmetricKeyType ?? 'unknown'}`);
  return sign(null, Buffer.from(id, 'ascii'), key).toString('base64');
}

/** True when signatureB64 is a valid Ed25519 signature of the id by publicKeyPem. Never throws on bad input. */
export function verifyReleaseSignature(id: string, signatureB64: string, publicKeyPem: string): boolean {
  if (!/^[A-Za-z0-9+/]{86}==$/.test(signatureB64.trim())) return false;
  try {
    const key = createPublicKey(publicKeyPem);
    if (key.asymmetricKeyType !== 'ed25519') return false;
    return verify(null, Buffer.from(id, 'ascii'), key, Buffer.from(signatureB64.trim(), 'base64'));
  } catch {
    return false;
  }
}
