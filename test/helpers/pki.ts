// Test PKI: one CA per cluster per test process, identities minted by our own pki/ and written to temp dirs.
import { mkdtemp, rm } from 'node:fs/promises';
import type forgeTypes from 'node-forge';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority, createCa, generateKeyPair, writeIdentityFiles, type IssueRequest, type KeyPairPem } from '../../pki/index.js';
import type { Role } from '../../shared/identity.js';
import { checkTlsMaterial, type TlsMaterial } from '../../shared/tls.js';

const cas = new Map<string, Promise<CertificateAuthority>>();
let sharedKey: Promise<KeyPairPem> | undefined;

/** The test CA of a cluster (created once per process: 3072-bit keys take ~0.5 s). */
export function testCa(cluster = 'test'): Promise<CertificateAuthority> {
  let ca = cas.get(cluster);
  if (!ca) {
    ca = createCa({ cluster }).then((pem) => CertificateAuthority.load(pem));
    cas.set(cluster, ca);
  }
  return ca;
}

/** One leaf key reused by test identities (key generation is not what these tests are about). */
export function testKey(): Promise<KeyPairPem> {
  sharedKey ??= generateKeyPair();
  return sharedKey;
}

export interface TestIdentity {
  ca: string;
  cert: string;
  key: string;
  serial: string;
  material: TlsMaterial;
}

export interface MintOptions extends Partial<Omit<IssueRequest, 'identity' | 'publicKeyPem'>> {
  cluster?: string;
  /** Use a fresh key instead of the shared one. */
  freshKey?: boolean;
  /** Issue from this CA instead of the cluster's test CA (a foreign CA). */
  issuer?: CertificateAuthority;
}

/** Mint an identity spiffe://<cluster>/<role>/<name>. */
export async function mintIdentity(role: Role, name: string, options: MintOptions = {}): Promise<TestIdentity> {
  const cluster = options.cluster ?? 'test';
  const ca = options.issuer ?? (await testCa(cluster));
  const key = options.freshKey ? await generateKeyPair() : await testKey();
  const { cluster: _c, freshKey: _f, issuer: _i, ...issue } = options;
  const issued = ca.issue({ ...issue, publicKeyPem: key.publicKeyPem, identity: { cluster, role, name } });
  const pem = { ca: ca.certPem, cert: issued.certPem, key: key.privateKeyPem };
  // Expired or not-yet-valid test certificates are still loadable material (the handshake refuses them).
  return { ...pem, serial: issued.serial, material: checkTlsMaterial(pem, `${role}/${name}`) };
}

/** Write an identity as a PKI directory (ca.crt, <base>.crt, <base>.key); base defaults to the role. */
export async function writeIdentity(dir: string, id: TestIdentity, base: string): Promise<void> {
  await writeIdentityFiles(dir, base, { caPem: id.ca, certPem: id.cert, keyPem: id.key });
}

/** A temp dir removed by the returned cleanup. */
export async function tempDir(prefix = 'swarm-test-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/**
 * A leaf from the cluster's test CA with no extendedKeyUsage extension at all (our CA never issues one;
 * OpenSSL treats such a certificate as good for every purpose). Built with forge and signed natively, as
 * pki/ca.ts does, so only the missing extension differs from a real Swarm leaf.
 */
export async function mintWithoutEku(role: Role, name: string, cluster = 'test'): Promise<TestIdentity> {
  const [{ createPrivateKey }, { default: forge }, native, { randomSerial, NOT_BEFORE_SKEW_MS }] = await Promise.all([
    import('node:crypto'), import('node-forge'), import('../../pki/forge-native.js'), import('../../pki/index.js'),
  ]);
  const ca = await testCa(cluster);
  const key = await testKey();
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = native.forgePublicKey(key.publicKeyPem);
  const serial = randomSerial();
  cert.serialNumber = serial;
  cert.validity.notBefore = new Date(Date.now() - NOT_BEFORE_SKEW_MS);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ shortName: 'CN', value: name }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'subjectAltName', altNames: [{ type: 6, value: `spiffe://${cluster}/${role}/${name}` }] },
    { name: 'authorityKeyIdentifier', keyIdentifier: native.keyIdentifier(caCert.publicKey as forgeTypes.pki.rsa.PublicKey) },
  ]);
  native.signCertificateNative(cert, createPrivateKey(ca.keyPem));
  const pem = { ca: ca.certPem, cert: forge.pki.certificateToPem(cert), key: key.privateKeyPem };
  return { ...pem, serial, material: checkTlsMaterial(pem, `${role}/${name}`) };
}
