// The PKI's error catalogue.
import { defineErrors } from '../shared/errors.js';

export const pkiError = defineErrors('pki', {
  SWARM_ERR_CSR_INVALID: { status: 400, summary: 'The CSR is not a parseable PKCS#10 request with an RSA key.' },
  SWARM_ERR_CSR_SIGNATURE: { status: 400, summary: 'The CSR signature does not verify: the sender does not hold the private key.' },
  SWARM_ERR_CSR_TOO_LARGE: { status: 413, summary: 'The CSR is larger than the controller accepts.' },
  SWARM_ERR_CSR_WEAK_KEY: { status: 400, summary: 'The CSR key is too small (RSA keys need at least 2048 bits) or uses a refused algorithm.' },
  SWARM_ERR_CA_HASH_MISMATCH: { status: 400, summary: 'The CA served by the controller does not match the pinned sha256 hash given with the join token.' },
  SWARM_ERR_CA_HASH_INVALID: { status: 400, summary: 'A CA hash is not of the form sha256:<64 hex digits>.' },
  SWARM_ERR_PKI_EXISTS: { status: 409, summary: 'The directory already holds keys or certificates; refusing to overwrite them.' },
  SWARM_ERR_CA_INVALID: { status: 500, summary: 'The CA certificate or key cannot be loaded, or they do not match.' },
  SWARM_ERR_CRL_INVALID: { status: 502, summary: 'A CRL is not a parseable PEM X509 CRL signed with SHA-256 by the pinned cluster CA; it is ignored.' },
  SWARM_ERR_CRL_STALE: { status: 409, summary: 'A CRL carries a lower CRL number than one already applied (a replay); it is ignored.' },
  SWARM_ERR_PKI_DIR_UNWRITABLE: { status: 500, summary: 'The PKI directory cannot be created or written (permission denied, read-only or special file system); run as root or choose another --pki-dir. Nothing was sent to the controller.' },
  SWARM_ERR_CA_ANSWER_INVALID: { status: 502, summary: 'GET /v1/pki/ca did not answer exactly one PEM certificate within the size cap (a bundle, trailing data, or too large); nothing was trusted and the token was not sent. Check --controller: someone may be in the middle.' },
});
