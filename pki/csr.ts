// CSRs: made on the host for a requested identity, verified on the controller (proof of possession).
import { createPrivateKey, verify } from 'node:crypto';
import forge from 'node-forge';
import { pkiError } from './errors.js';
import { csrInfoDer, forgePublicKey, signCsrNative } from './forge-native.js';

/** Create a PEM CSR for `name`, signed with the host's own key. The controller decides the SAN. */
export function createCsr(options: { keyPem: string; publicKeyPem: string; commonName: string }): string {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forgePublicKey(options.publicKeyPem);
  csr.setSubject([{ shortName: 'CN', value: options.commonName }]);
  signCsrNative(csr, createPrivateKey(options.keyPem));
  return forge.pki.certificationRequestToPem(csr);
}

export interface VerifiedCsr {
  readonly publicKeyPem: string;
  readonly commonName: string | undefined;
  readonly keyBits: number;
}

export const MAX_CSR_BYTES = 16 * 1024;
const HASH_BY_OID: Record<string, string> = {
  [forge.pki.oids.sha256WithRSAEncryption!]: 'sha256',
  [forge.pki.oids.sha384WithRSAEncryption!]: 'sha384',
  [forge.pki.oids.sha512WithRSAEncryption!]: 'sha512',
};

/**
 * Parse a CSR and verify its proof of possession natively. Only the public key is used
 * afterwards: every extension the CSR asks for is ignored.
 */
export function verifyCsr(pem: string, options: { maxBytes?: number; minBits?: number; maxBits?: number } = {}): VerifiedCsr {
  if (Buffer.byteLength(pem) > (options.maxBytes ?? MAX_CSR_BYTES)) {
    throw pkiError('SWARM_ERR_CSR_TOO_LARGE', `CSR is ${Buffer.byteLength(pem)} bytes; at most ${options.maxBytes ?? MAX_CSR_BYTES} are accepted`);
  }
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(pem, false, false);
  } catch (err) {
    throw pkiError('SWARM_ERR_CSR_INVALID', `CSR cannot be parsed (${(err as Error).message}); it must be a PEM PKCS#10 request with an RSA key`, { cause: err });
  }
  const c = csr as unknown as { signatureOid: string; signature: string; publicKey: forge.pki.rsa.PublicKey };
  const hash = HASH_BY_OID[c.signatureOid];
  if (!hash) throw pkiError('SWARM_ERR_CSR_WEAK_KEY', `CSR is signed with algorithm ${c.signatureOid}; use SHA-256 with RSA`);
  const bits = c.publicKey.n.bitLength();
  if (bits < (options.minBits ?? 2048) || bits > (options.maxBits ?? 8192)) {
    throw pkiError('SWARM_ERR_CSR_WEAK_KEY', `CSR key is RSA ${bits} bits; it must be between ${options.minBits ?? 2048} and ${options.maxBits ?? 8192}`);
  }
  const publicKeyPem = forge.pki.publicKeyToPem(c.publicKey);
  const ok = verify(hash, csrInfoDer(csr), publicKeyPem, Buffer.from(c.signature, 'binary'));
  if (!ok) throw pkiError('SWARM_ERR_CSR_SIGNATURE', 'CSR signature does not verify; it was not signed by the key it carries');
  const cn = csr.subject.getField('CN') as { value?: string } | null;
  return { publicKeyPem, commonName: cn?.value, keyBits: bits };
}
