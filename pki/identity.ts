// Read a Swarm identity (and expiry, serial) from a certificate file's PEM.
import { X509Certificate } from 'node:crypto';
import { sharedError } from '../shared/errors.js';
import { identityFromSanString, type Identity } from '../shared/identity.js';

export interface CertificateInfo {
  readonly identity: Identity;
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** Parse a leaf; refuses no URI SAN, several, or another cluster's identity. */
export function identityFromCertificate(certPem: string, expectedCluster?: string): Identity {
  return describeCertificate(certPem, expectedCluster).identity;
}

export function describeCertificate(certPem: string, expectedCluster?: string): CertificateInfo {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw sharedError('SWARM_ERR_TLS_FILE_INVALID', `certificate cannot be parsed: ${(err as Error).message}`, { cause: err });
  }
  return {
    identity: identityFromSanString(cert.subjectAltName, expectedCluster),
    serial: cert.serialNumber.toLowerCase(),
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
  };
}
