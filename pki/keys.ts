// Key generation with Node's native crypto (off the event loop), PEM in and out.
import { generateKeyPair as generateKeyPairCb } from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPairCb);

export interface KeyPairPem {
  /** PKCS#8 PEM. */
  readonly privateKeyPem: string;
  /** SPKI PEM. */
  readonly publicKeyPem: string;
}

/** Leaves default to RSA 2048 (short-lived, 7 days); the CA uses 3072. */
export const LEAF_KEY_BITS = 2048;
export const CA_KEY_BITS = 3072;

/** Generate an RSA key pair in the libuv thread pool. */
export async function generateKeyPair(bits: number = LEAF_KEY_BITS): Promise<KeyPairPem> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: bits,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}
