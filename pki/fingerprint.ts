// CA pinning: fingerprints as sha256:<hex> of the certificate's DER.
import { X509Certificate, createHash, timingSafeEqual } from 'node:crypto';
import { pkiError } from './errors.js';

export function fingerprintOf(certPem: string): string {
  return `sha256:${createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex')}`;
}

const HASH_RE = /^sha256:([0-9a-f]{64})$/;

/** Validate a CA hash given by an operator (`sha256:<64 hex>`), lowercased. */
export function parseCaHash(value: string): string {
  const v = value.trim().toLowerCase();
  if (!HASH_RE.test(v)) throw pkiError('SWARM_ERR_CA_HASH_INVALID', `CA hash "${value}" must be sha256:<64 hex digits>, as printed by swarmctl host add`);
  return v;
}

/** Constant-time check that a CA certificate matches a pinned hash. */
export function matchesCaHash(certPem: string, pinned: string): boolean {
  const a = Buffer.from(fingerprintOf(certPem));
  const b = Buffer.from(parseCaHash(pinned));
  return a.length === b.length && timingSafeEqual(a, b);
}
