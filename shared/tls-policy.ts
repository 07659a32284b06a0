// The one TLS protocol policy of every Swarm server and client: TLS 1.3, or TLS 1.2 with ECDHE key exchange and AEAD only.

/**
 * Every peer is Swarm's own code on Node >= 20, so nothing old needs serving: no RSA key exchange (no forward
 * secrecy), no finite-field DHE, no CBC, no SHA-1 MACs. The TLS 1.3 suites are all AEAD with (EC)DHE; they
 * are listed so the string is the whole policy (Node takes both kinds from one `ciphers` string).
 * The ECDSA 1.2 suites cost nothing: our certificates are RSA (node-forge), so they are simply never chosen.
 */
export const TLS_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
].join(':');

/** Spread into every TLS context we create, server or client. */
export const TLS_POLICY = Object.freeze({
  minVersion: 'TLSv1.2' as const,
  ciphers: TLS_CIPHERS,
});
