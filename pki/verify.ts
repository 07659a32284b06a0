// The PKI's light door: verifying what the CA published (CRLs, CA fingerprints) without loading node-forge, for
// processes that never issue anything (an agent starting, a joining host). Everything else: pki/index.ts.
export { verifyCrl } from './crl-verify.js';
export type { VerifiedCrl } from './crl-verify.js';
export { pkiError } from './errors.js';
export { fingerprintOf, matchesCaHash, parseCaHash } from './fingerprint.js';
