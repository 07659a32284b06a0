// The PKI's public door: CA, keys, CSRs, issuance, identities, fingerprints, CRLs, identity files.
export { CertificateAuthority, createCa, extendedKeyUsageFor, DEFAULT_LEAF_LIFETIME_MS, NOT_BEFORE_SKEW_MS } from './ca.js';
export type { CaPem, CreateCaOptions, IssueRequest, IssuedCertificate } from './ca.js';
export { createCsr, verifyCsr, MAX_CSR_BYTES } from './csr.js';
export type { VerifiedCsr } from './csr.js';
export { createCrl } from './crl.js';
export type { CrlOptions, RevokedEntry } from './crl.js';
export { verifyCrl } from './crl-verify.js';
export type { VerifiedCrl } from './crl-verify.js';
export { pkiError } from './errors.js';
export { fingerprintOf, matchesCaHash, parseCaHash } from './fingerprint.js';
export { describeCertificate, identityFromCertificate } from './identity.js';
export type { CertificateInfo } from './identity.js';
export { CA_KEY_BITS, LEAF_KEY_BITS, generateKeyPair } from './keys.js';
export type { KeyPairPem } from './keys.js';
export { assertNoIdentity, preparePkiDir, writeIdentityFiles } from './pki-dir.js';
export type { IdentityFiles } from './pki-dir.js';
export { randomSerial } from './serial.js';
