// The cluster CA: create one, load it, and issue leaf certificates that carry one SPIFFE URI.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';
import { CLUSTER_PATTERN, spiffeUri, type Identity, type Role } from '../shared/identity.js';
import { parseSingleCertificate } from '../shared/pem.js';
import { pkiError } from './errors.js';
import { forgePublicKey, keyIdentifier, signCertificateNative } from './forge-native.js';
import { CA_KEY_BITS, generateKeyPair } from './keys.js';
import { randomSerial } from './serial.js';
import { fingerprintOf } from './fingerprint.js';

export interface CaPem {
  readonly certPem: string;
  readonly keyPem: string;
}

const DAY = 86_400_000;
/** Backdate notBefore for clock skew between hosts (DESIGN.md §2). */
export const NOT_BEFORE_SKEW_MS = 5 * 60_000;
export const DEFAULT_LEAF_LIFETIME_MS = 7 * DAY;

export interface CreateCaOptions {
  cluster: string;
  bits?: number;
  validityDays?: number;
  now?: number;
}

/** A new self-signed cluster CA: RSA >= 3072, 10 years, CA:true pathlen 0, keyCertSign + cRLSign, SKI/AKI. */
export async function createCa(options: CreateCaOptions): Promise<CaPem> {
  if (!CLUSTER_PATTERN.test(options.cluster)) {
    throw pkiError('SWARM_ERR_CA_INVALID', `cluster name "${options.cluster}" must be lowercase letters, digits, '.' or '-'`);
  }
  const bits = Math.max(options.bits ?? CA_KEY_BITS, CA_KEY_BITS);
  const now = options.now ?? Date.now();
  const keys = await generateKeyPair(bits);
  const publicKey = forgePublicKey(keys.publicKeyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(now - NOT_BEFORE_SKEW_MS);
  cert.validity.notAfter = new Date(now + (options.validityDays ?? 3650) * DAY);
  const subject = [
    { shortName: 'O', value: 'swarm' },
    { shortName: 'CN', value: `swarm ${options.cluster} CA` },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  const ski = keyIdentifier(publicKey);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier', subjectKeyIdentifier: forge.util.bytesToHex(ski) },
    { name: 'authorityKeyIdentifier', keyIdentifier: ski },
    // The trust domain itself, so a CA file says which cluster it roots.
    { name: 'subjectAltName', altNames: [{ type: 6, value: `spiffe://${options.cluster}` }] },
  ]);
  signCertificateNative(cert, createPrivateKey(keys.privateKeyPem));
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privateKeyPem };
}

/** Extended key usage by role: operators are only clients; the others serve and dial. */
export function extendedKeyUsageFor(role: Role): { serverAuth: boolean; clientAuth: boolean } {
  return role === 'operator' ? { serverAuth: false, clientAuth: true } : { serverAuth: true, clientAuth: true };
}

export interface IssueRequest {
  /** SPKI PEM of the subject's key (from a verified CSR). */
  publicKeyPem: string;
  /** The controller's decision; the CSR's own requests are ignored. */
  identity: Identity;
  lifetimeMs?: number;
  /** Extra DNS names or IP addresses (the controller's own `--san`). */
  sans?: readonly string[];
  now?: number;
  /** Override the role's EKU; only tests use this, to prove wrong EKUs are refused. */
  extKeyUsage?: { serverAuth: boolean; clientAuth: boolean };
}

export interface IssuedCertificate {
  readonly certPem: string;
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly identity: Identity;
}

/** A loaded CA that issues certificates; signing is native (~1-2 ms) and synchronous. */
export class CertificateAuthority {
  readonly certPem: string;
  readonly cluster: string;
  readonly fingerprint: string;
  readonly notAfter: number;
  readonly #key: KeyObject;
  readonly #keyPem: string;
  readonly #subject: forge.pki.CertificateField[];
  readonly #ski: string;

  private constructor(pem: CaPem, cluster: string, cert: forge.pki.Certificate, key: KeyObject) {
    this.certPem = pem.certPem;
    this.#keyPem = pem.keyPem;
    this.cluster = cluster;
    this.#key = key;
    this.#subject = cert.subject.attributes;
    this.#ski = keyIdentifier(cert.publicKey as forge.pki.rsa.PublicKey);
    this.fingerprint = fingerprintOf(pem.certPem);
    this.notAfter = cert.validity.notAfter.getTime();
  }

  /** Load and check a CA: the key matches, it is a CA, it names its cluster. */
  static load(pem: CaPem): CertificateAuthority {
    // The controller serves this text at GET /v1/pki/ca and trusts it in its TLS contexts: one certificate only.
    const single = parseSingleCertificate(pem.certPem);
    if (!single.ok) throw pkiError('SWARM_ERR_CA_INVALID', `CA certificate file ${single.reason}; keep only the cluster CA in pki/ca.crt`);
    let x509: X509Certificate;
    let key: KeyObject;
    let cert: forge.pki.Certificate;
    try {
      x509 = new X509Certificate(pem.certPem);
      key = createPrivateKey(pem.keyPem);
      cert = forge.pki.certificateFromPem(pem.certPem);
    } catch (err) {
      throw pkiError('SWARM_ERR_CA_INVALID', `CA certificate or key cannot be parsed: ${(err as Error).message}`, { cause: err });
    }
    if (!x509.ca) throw pkiError('SWARM_ERR_CA_INVALID', 'CA certificate is not a CA (basicConstraints CA:false)');
    if (!x509.checkPrivateKey(key)) throw pkiError('SWARM_ERR_CA_INVALID', 'CA key does not match the CA certificate');
    const m = /^URI:spiffe:\/\/([a-z0-9.-]+)$/.exec(x509.subjectAltName ?? '');
    if (!m) throw pkiError('SWARM_ERR_CA_INVALID', 'CA certificate does not name its cluster (URI SAN spiffe://<cluster>)');
    return new CertificateAuthority(pem, m[1]!, cert, key);
  }

  /** The CA key in PKCS#8 PEM (for the CRL signer). */
  get keyPem(): string {
    return this.#keyPem;
  }

  /** Issue a leaf for an identity of this cluster. */
  issue(req: IssueRequest): IssuedCertificate {
    if (req.identity.cluster !== this.cluster) {
      throw pkiError('SWARM_ERR_CA_INVALID', `identity of cluster "${req.identity.cluster}" cannot be issued by the "${this.cluster}" CA`);
    }
    const now = req.now ?? Date.now();
    const lifetime = req.lifetimeMs ?? DEFAULT_LEAF_LIFETIME_MS;
    const publicKey = forgePublicKey(req.publicKeyPem);
    const cert = forge.pki.createCertificate();
    cert.publicKey = publicKey;
    const serial = randomSerial();
    cert.serialNumber = serial;
    const notBefore = now - NOT_BEFORE_SKEW_MS;
    const notAfter = now + lifetime;
    cert.validity.notBefore = new Date(Math.floor(notBefore / 1000) * 1000);
    cert.validity.notAfter = new Date(Math.floor(notAfter / 1000) * 1000);
    cert.setSubject([
      { shortName: 'O', value: `swarm ${req.identity.cluster}` },
      { shortName: 'OU', value: req.identity.role },
      { shortName: 'CN', value: req.identity.name },
    ]);
    cert.setIssuer(this.#subject);
    const altNames: Array<{ type: number; value?: string; ip?: string }> = [{ type: 6, value: spiffeUri(req.identity) }];
    for (const san of req.sans ?? []) altNames.push(isIP(san) ? { type: 7, ip: san } : { type: 2, value: san });
    const eku = req.extKeyUsage ?? extendedKeyUsageFor(req.identity.role);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', ...eku },
      { name: 'subjectAltName', altNames },
      { name: 'subjectKeyIdentifier', subjectKeyIdentifier: forge.util.bytesToHex(keyIdentifier(publicKey)) },
      { name: 'authorityKeyIdentifier', keyIdentifier: this.#ski },
    ]);
    signCertificateNative(cert, this.#key);
    return Object.freeze({
      certPem: forge.pki.certificateToPem(cert),
      serial,
      notBefore: cert.validity.notBefore.getTime(),
      notAfter: cert.validity.notAfter.getTime(),
      identity: req.identity,
    });
  }
}
