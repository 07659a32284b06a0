// Strict reading of a file or answer that must hold exactly one PEM certificate (a trust anchor: ca.crt, the join CA).
import { X509Certificate } from 'node:crypto';

/** One certificate, parsed: its DER (what a pin hashes) and its canonical PEM (what gets written and trusted). */
export interface SingleCertificate {
  readonly der: Buffer;
  readonly pem: string;
  readonly x509: X509Certificate;
}

export type SingleCertificateResult = { ok: true; cert: SingleCertificate } | { ok: false; reason: string };

// The whole text, less surrounding whitespace, must be this one block: OpenSSL (and so every TLS context)
// reads every certificate-looking block in a `ca` string and skips text between them, so anything else
// around the pinned certificate could smuggle in a second trust root.
const ONE_BLOCK = /^-----BEGIN CERTIFICATE-----\r?\n((?:[A-Za-z0-9+/=]{1,76}\r?\n)+)-----END CERTIFICATE-----$/;

/**
 * Parse text that must be exactly one PEM CERTIFICATE block (whitespace around it allowed, nothing else).
 * Refuses bundles, other PEM labels, text before or after, and DER with trailing bytes.
 */
export function parseSingleCertificate(text: string): SingleCertificateResult {
  const blocks = text.match(/-----BEGIN [^-\r\n]*-----/g) ?? [];
  if (blocks.length === 0) return { ok: false, reason: 'holds no PEM certificate' };
  if (blocks.length > 1) return { ok: false, reason: `holds ${blocks.length} PEM blocks (a bundle); exactly one certificate is trusted` };
  const m = ONE_BLOCK.exec(text.trim());
  if (!m) return { ok: false, reason: 'holds data besides one PEM CERTIFICATE block (another label, or text before or after it)' };
  const der = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch (err) {
    return { ok: false, reason: `holds a certificate that does not parse (${(err as Error).message})` };
  }
  // The parser stops at the end of the certificate's SEQUENCE: bytes after it would be hashed but not read.
  if (!x509.raw.equals(der)) return { ok: false, reason: 'holds a certificate followed by extra bytes inside its PEM block' };
  return { ok: true, cert: { der, pem: x509.toString(), x509 } };
}
