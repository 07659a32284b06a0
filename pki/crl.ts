// Certificate revocation lists (forge cannot write them; @peculiar/x509 signs with WebCrypto, natively).
import { createPrivateKey, webcrypto } from 'node:crypto';
import type { X509CrlGenerator } from '@peculiar/x509';
import type { CertificateAuthority } from './ca.js';

type X509Lib = typeof import('@peculiar/x509');
type CrlParams = Parameters<typeof X509CrlGenerator.create>[0];
type SigningKey = CrlParams['signingKey'];

let x509Lib: Promise<X509Lib> | undefined;

/**
 * @peculiar/x509 (with reflect-metadata, which its tsyringe needs first) costs ~0.25 s of CPU to load: only the
 * controller writes CRLs, so every other program skips it (hosts verify theirs with crl-verify.ts, which reads the DER
 * itself).
 */
export function loadX509(): Promise<X509Lib> {
  x509Lib ??= import('reflect-metadata').then(async () => {
    const lib = await import('@peculiar/x509');
    lib.cryptoProvider.set(webcrypto as unknown as Parameters<typeof lib.cryptoProvider.set>[0]);
    return lib;
  });
  return x509Lib;
}

export interface RevokedEntry {
  /** Lowercase hex serial. */
  serial: string;
  revokedAt: number;
}

export interface CrlOptions {
  /** Monotonic CRL number (RFC 5280 §5.2.3). */
  number: number;
  thisUpdate?: number;
  /** Default: a week after thisUpdate. A CRL past nextUpdate fails every TLS client that loads it. */
  nextUpdate?: number;
}

const signingKeys = new WeakMap<CertificateAuthority, Promise<SigningKey>>();

function signingKeyOf(ca: CertificateAuthority): Promise<SigningKey> {
  let key = signingKeys.get(ca);
  if (!key) {
    const der = createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'der' });
    key = webcrypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']) as Promise<SigningKey>;
    signingKeys.set(ca, key);
  }
  return key;
}

/** DER INTEGER for a non-negative number. */
function derInteger(n: number): Uint8Array {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}

/** A PEM CRL (label `X509 CRL`, as Node's TLS wants) signed by the CA with SHA-256. */
export async function createCrl(ca: CertificateAuthority, entries: readonly RevokedEntry[], options: CrlOptions): Promise<string> {
  const { Extension, X509Certificate, X509CrlGenerator, X509CrlReason } = await loadX509();
  const thisUpdate = options.thisUpdate ?? Date.now();
  const caCert = new X509Certificate(ca.certPem);
  const akiExt = caCert.getExtension('2.5.29.14'); // the CA's SKI becomes the CRL's AKI
  const extensions: InstanceType<X509Lib['Extension']>[] = [new Extension('2.5.29.20', false, derInteger(options.number))];
  if (akiExt) {
    // AuthorityKeyIdentifier ::= SEQUENCE { [0] keyIdentifier }; SKI value is OCTET STRING { id }.
    const id = Buffer.from(akiExt.value).subarray(2);
    extensions.push(new Extension('2.5.29.35', false, Buffer.concat([Buffer.from([0x30, id.length + 2, 0x80, id.length]), id])));
  }
  const crl = await X509CrlGenerator.create({
    issuer: caCert.subjectName,
    thisUpdate: new Date(thisUpdate),
    nextUpdate: new Date(options.nextUpdate ?? thisUpdate + 7 * 86_400_000),
    signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as CrlParams['signingAlgorithm'],
    signingKey: await signingKeyOf(ca),
    extensions,
    entries: entries.map((e) => ({ serialNumber: e.serial, revocationDate: new Date(e.revokedAt), reason: X509CrlReason.cessationOfOperation })),
  });
  const b64 = Buffer.from(crl.rawData).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN X509 CRL-----\n${b64}\n-----END X509 CRL-----\n`;
}
