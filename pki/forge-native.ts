// Let node-forge build structures and Node's native crypto sign them (forge's RSA is pure JS, ~20x slower).
import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

const SHA256_RSA = forge.pki.oids.sha256WithRSAEncryption!;

/** forge exports these builders at runtime; its type definitions omit them. */
const forgePki = forge.pki as typeof forge.pki & {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
  getCertificationRequestInfo(csr: forge.pki.CertificateSigningRequest): forge.asn1.Asn1;
};

function derBytes(asn1: forge.asn1.Asn1): Buffer {
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

/** Sign a forge certificate with SHA-256/RSA using a native key. */
export function signCertificateNative(cert: forge.pki.Certificate, key: KeyObject): void {
  cert.signatureOid = SHA256_RSA;
  cert.siginfo.algorithmOid = SHA256_RSA;
  const tbs = forgePki.getTBSCertificate(cert);
  (cert as unknown as { tbsCertificate: forge.asn1.Asn1 }).tbsCertificate = tbs;
  cert.signature = sign('sha256', derBytes(tbs), key).toString('binary');
}

type Csr = forge.pki.CertificateSigningRequest & {
  certificationRequestInfo?: forge.asn1.Asn1;
  siginfo: { algorithmOid: string };
  signatureOid: string;
  signature: string;
};

/** Sign a forge CSR with SHA-256/RSA using a native key. */
export function signCsrNative(csr: forge.pki.CertificateSigningRequest, key: KeyObject): void {
  const c = csr as Csr;
  c.signatureOid = SHA256_RSA;
  c.siginfo.algorithmOid = SHA256_RSA;
  const cri = forgePki.getCertificationRequestInfo(csr);
  c.certificationRequestInfo = cri;
  c.signature = sign('sha256', derBytes(cri), key).toString('binary');
}

/** DER of a CSR's signed part, for native verification. */
export function csrInfoDer(csr: forge.pki.CertificateSigningRequest): Buffer {
  const c = csr as Csr;
  return derBytes(c.certificationRequestInfo ?? forgePki.getCertificationRequestInfo(csr));
}

/** The forge public key of a native key (forge only needs it to place it in a structure). */
export function forgePublicKey(key: KeyObject | string): forge.pki.rsa.PublicKey {
  const pub = typeof key === 'string' ? key : key.type === 'public' ? key : createPublicKey(key);
  const pem = typeof pub === 'string' ? pub : pub.export({ type: 'spki', format: 'pem' }).toString();
  return forge.pki.publicKeyFromPem(pem) as forge.pki.rsa.PublicKey;
}

/** Subject key identifier: SHA-1 of the RSAPublicKey (RFC 5280 §4.2.1.2 method 1), as forge computes it. */
export function keyIdentifier(publicKey: forge.pki.rsa.PublicKey): string {
  return forge.pki.getPublicKeyFingerprint(publicKey, { type: 'RSAPublicKey', encoding: 'binary' }) as unknown as string;
}
