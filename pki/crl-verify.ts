// Read a CRL a host fetched, and trust it only when the pinned cluster CA signed it (hosts never trust it unverified).
import { X509Certificate as NodeCertificate, verify as verifySignature } from 'node:crypto';
import { loadX509 } from './crl.js';
import { pkiError } from './errors.js';

export interface VerifiedCrl {
  /** The CRL number (RFC 5280 §5.2.3): a host refuses one lower than what it applied. */
  number: number;
  /** Revoked serials, lowercase hex as Node reports certificate serials. */
  serials: string[];
  thisUpdate: number;
}

/** One DER element: where its contents start and end. Enough for the three parts of a CertificateList. */
function readElement(der: Uint8Array, at: number): { tag: number; start: number; end: number } {
  const tag = der[at];
  let len = der[at + 1];
  if (tag === undefined || len === undefined) throw new Error('truncated DER');
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[start + i] ?? 0);
    start += n;
  }
  const end = start + len;
  if (end > der.length) throw new Error('truncated DER');
  return { tag, start, end };
}

/** The signed bytes and the signature of a CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signature }. */
function splitSigned(der: Uint8Array): { tbs: Uint8Array; signature: Uint8Array } {
  const outer = readElement(der, 0);
  if (outer.tag !== 0x30 || outer.end !== der.length) throw new Error('not a DER SEQUENCE');
  const tbs = readElement(der, outer.start);
  const alg = readElement(der, tbs.end);
  const sig = readElement(der, alg.end);
  if (tbs.tag !== 0x30 || alg.tag !== 0x30 || sig.tag !== 0x03 || sig.end !== outer.end || der[sig.start] !== 0) throw new Error('not a CertificateList');
  return { tbs: der.subarray(outer.start, tbs.end), signature: der.subarray(sig.start + 1, sig.end) };
}

/** A DER serial (hex) as Node prints certificate serials: lowercase, without the sign byte. */
function normalizeSerial(hex: string): string {
  let s = hex.toLowerCase();
  while (s.length > 2 && s.startsWith('00')) s = s.slice(2);
  return s;
}

function pemToDer(pem: string): Buffer {
  const m = /^-----BEGIN X509 CRL-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END X509 CRL-----\s*$/.exec(pem.trim() + '\n');
  if (!m) throw new Error('not one PEM block labelled X509 CRL');
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}

/**
 * Parse a PEM CRL and check that `caCertPem` signed it (SHA-256 with RSA, verified by Node's crypto) and that
 * it names that CA as its issuer. Throws SWARM_ERR_CRL_INVALID otherwise; the caller keeps what it had.
 */
export async function verifyCrl(pem: string, caCertPem: string): Promise<VerifiedCrl> {
  const invalid = (why: string, cause?: unknown): Error => pkiError('SWARM_ERR_CRL_INVALID', `CRL refused: ${why}; the host keeps its current denylist`, cause === undefined ? undefined : { cause });
  let der: Buffer;
  let parts: { tbs: Uint8Array; signature: Uint8Array };
  try {
    der = pemToDer(pem);
    parts = splitSigned(der);
  } catch (err) {
    throw invalid((err as Error).message, err);
  }
  const ca = new NodeCertificate(caCertPem);
  const { X509Crl, X509Certificate } = await loadX509();
  let crl: InstanceType<typeof X509Crl>;
  try {
    crl = new X509Crl(der);
  } catch (err) {
    throw invalid(`not a parseable CRL (${(err as Error).message})`, err);
  }
  // Node checks PKCS#1 v1.5 with a SHA-256 DigestInfo: a CRL signed any other way (SHA-1, another key) fails here.
  if (!verifySignature('sha256', parts.tbs, ca.publicKey, parts.signature)) throw invalid('its signature does not verify with the pinned cluster CA');
  if (crl.issuer !== new X509Certificate(caCertPem).subject) throw invalid(`its issuer "${crl.issuer}" is not the cluster CA`);
  const numberExt = crl.getExtension('2.5.29.20');
  if (!numberExt) throw invalid('it has no CRL number');
  const n = Buffer.from(numberExt.value);
  if (n[0] !== 0x02 || n.length < 3 || n.length > 9 || n[1] !== n.length - 2) throw invalid('its CRL number is not a small INTEGER');
  const number = Number(BigInt(`0x${n.subarray(2).toString('hex')}`));
  if (!Number.isSafeInteger(number)) throw invalid('its CRL number is too large');
  return { number, serials: crl.entries.map((e) => normalizeSerial(e.serialNumber)), thisUpdate: crl.thisUpdate.getTime() };
}
