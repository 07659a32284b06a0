// Read a CRL a host fetched, and trust it only when the pinned cluster CA signed it (hosts never trust it unverified).
import { X509Certificate as NodeCertificate, verify as verifySignature } from 'node:crypto';
import { pkiError } from './errors.js';

export interface VerifiedCrl {
  /** The CRL number (RFC 5280 §5.2.3): a host refuses one lower than what it applied. */
  number: number;
  /** Revoked serials, lowercase hex as Node reports certificate serials. */
  serials: string[];
  thisUpdate: number;
}

/** One DER element at `at`: its tag, where its contents start and end. Single-byte tags, definite lengths only. */
function readElement(der: Uint8Array, at: number, limit = der.length): { tag: number; at: number; start: number; end: number } {
  const tag = der[at];
  let len = der[at + 1];
  if (tag === undefined || len === undefined || at + 2 > limit) throw new Error('truncated DER');
  if ((tag & 0x1f) === 0x1f) throw new Error('unsupported DER tag');
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[start + i] ?? 0);
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new Error('truncated DER');
  return { tag, at, start, end };
}

type Element = ReturnType<typeof readElement>;

/** The elements inside a constructed one, in order; they must fill it exactly. */
function childrenOf(der: Uint8Array, parent: Element): Element[] {
  const out: Element[] = [];
  for (let at = parent.start; at < parent.end;) {
    const el = readElement(der, at, parent.end);
    out.push(el);
    at = el.end;
  }
  return out;
}

/** The signed bytes and the signature of a CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signature }. */
function splitSigned(der: Uint8Array): { tbs: Element; signature: Uint8Array } {
  const outer = readElement(der, 0);
  if (outer.tag !== 0x30 || outer.end !== der.length) throw new Error('not a DER SEQUENCE');
  const [tbs, alg, sig, ...rest] = childrenOf(der, outer);
  if (tbs?.tag !== 0x30 || alg?.tag !== 0x30 || sig?.tag !== 0x03 || rest.length > 0 || der[sig.start] !== 0) throw new Error('not a CertificateList');
  return { tbs, signature: der.subarray(sig.start + 1, sig.end) };
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

/** UTCTime (YYMMDDHHMMSSZ, RFC 5280 §4.1.2.5.1) or GeneralizedTime (YYYYMMDDHHMMSSZ) as ms since the epoch. */
function timeOf(der: Uint8Array, el: Element): number {
  const text = Buffer.from(der.subarray(el.start, el.end)).toString('latin1');
  const m = el.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : el.tag === 0x18 ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : null;
  if (!m) throw new Error('a time is neither UTCTime nor GeneralizedTime in UTC');
  const year = el.tag === 0x17 ? (Number(m[1]) < 50 ? 2000 : 1900) + Number(m[1]) : Number(m[1]);
  return Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** The DER of a certificate's subject Name: Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version, serial, signature, issuer, validity, subject, ... }, ... }. */
function subjectDer(cert: Uint8Array): Uint8Array {
  const [tbs] = childrenOf(cert, readElement(cert, 0));
  if (tbs?.tag !== 0x30) throw new Error('not a certificate');
  const fields = childrenOf(cert, tbs);
  const subject = fields[fields[0]?.tag === 0xa0 ? 5 : 4];
  if (subject?.tag !== 0x30) throw new Error('a certificate without a subject');
  return cert.subarray(subject.at, subject.end);
}

const CRL_NUMBER_OID = Buffer.from([0x55, 0x1d, 0x14]); // 2.5.29.20

/**
 * Read the contents of a TBSCertList the pinned CA signed (RFC 5280 §5.1): { version?, signature, issuer, thisUpdate,
 * nextUpdate?, revokedCertificates?, [0] crlExtensions? }. Read only after its signature verified, so these are
 * bytes our own CA wrote; the reader still checks every length and shape.
 */
function readTbsCertList(der: Uint8Array, tbs: Element): { issuer: Uint8Array; thisUpdate: number; serials: string[]; number: Uint8Array | undefined } {
  const fields = childrenOf(der, tbs);
  let i = fields[0]?.tag === 0x02 ? 1 : 0;
  const algorithm = fields[i++];
  const issuer = fields[i++];
  const thisUpdate = fields[i++];
  if (algorithm?.tag !== 0x30 || issuer?.tag !== 0x30 || thisUpdate === undefined) throw new Error('a TBSCertList without its algorithm, issuer and thisUpdate');
  if (fields[i]?.tag === 0x17 || fields[i]?.tag === 0x18) i++; // nextUpdate
  const serials: string[] = [];
  if (fields[i]?.tag === 0x30) {
    for (const entry of childrenOf(der, fields[i++]!)) {
      const [serial] = entry.tag === 0x30 ? childrenOf(der, entry) : [];
      if (serial?.tag !== 0x02 || serial.end === serial.start) throw new Error('a revoked entry without a serial');
      serials.push(normalizeSerial(Buffer.from(der.subarray(serial.start, serial.end)).toString('hex')));
    }
  }
  let number: Uint8Array | undefined;
  if (fields[i]?.tag === 0xa0) {
    const [list] = childrenOf(der, fields[i++]!);
    if (list?.tag !== 0x30) throw new Error('crlExtensions is not a SEQUENCE');
    for (const ext of childrenOf(der, list)) {
      const parts = ext.tag === 0x30 ? childrenOf(der, ext) : [];
      const oid = parts[0];
      const value = parts[parts.length - 1];
      if (oid?.tag !== 0x06 || value?.tag !== 0x04 || parts.length < 2 || parts.length > 3) throw new Error('an extension is not { OID, critical?, OCTET STRING }');
      if (Buffer.from(der.subarray(oid.start, oid.end)).equals(CRL_NUMBER_OID)) number = der.subarray(value.start, value.end);
    }
  }
  if (i !== fields.length) throw new Error('a TBSCertList with unexpected fields');
  return { issuer: der.subarray(issuer.at, issuer.end), thisUpdate: timeOf(der, thisUpdate), serials, number };
}

/**
 * Parse a PEM CRL and check that `caCertPem` signed it (SHA-256 with RSA, verified by Node's crypto) and that
 * it names that CA as its issuer. Throws SWARM_ERR_CRL_INVALID otherwise; the caller keeps what it had.
 * Hosts call this at every start: it reads DER itself rather than load a certificate library (~0.25 s of CPU).
 */
export async function verifyCrl(pem: string, caCertPem: string): Promise<VerifiedCrl> {
  const invalid = (why: string, cause?: unknown): Error => pkiError('SWARM_ERR_CRL_INVALID', `CRL refused: ${why}; the host keeps its current denylist`, cause === undefined ? undefined : { cause });
  let der: Buffer;
  let parts: { tbs: Element; signature: Uint8Array };
  try {
    der = pemToDer(pem);
    parts = splitSigned(der);
  } catch (err) {
    throw invalid((err as Error).message, err);
  }
  const ca = new NodeCertificate(caCertPem);
  // Node checks PKCS#1 v1.5 with a SHA-256 DigestInfo: a CRL signed any other way (SHA-1, another key) fails here.
  if (!verifySignature('sha256', der.subarray(parts.tbs.at, parts.tbs.end), ca.publicKey, parts.signature)) throw invalid('its signature does not verify with the pinned cluster CA');
  let list: ReturnType<typeof readTbsCertList>;
  try {
    list = readTbsCertList(der, parts.tbs);
  } catch (err) {
    throw invalid(`not a parseable CRL (${(err as Error).message})`, err);
  }
  if (!Buffer.from(list.issuer).equals(subjectDer(ca.raw))) throw invalid(`its issuer is not the cluster CA (${ca.subject.replace(/\n/g, ', ')})`);
  if (!list.number) throw invalid('it has no CRL number');
  const n = Buffer.from(list.number);
  if (n[0] !== 0x02 || n.length < 3 || n.length > 9 || n[1] !== n.length - 2) throw invalid('its CRL number is not a small INTEGER');
  const number = Number(BigInt(`0x${n.subarray(2).toString('hex')}`));
  if (!Number.isSafeInteger(number)) throw invalid('its CRL number is too large');
  return { number, serials: list.serials, thisUpdate: list.thisUpdate };
}
