// TLS helpers for every part: load PKI material, build fastify HTTPS options (mutual TLS, TLS >= 1.2,
// only the cluster CA trusted), check a server's identity, and read a peer's identity.
import { X509Certificate, constants as cryptoConstants, createPrivateKey } from 'node:crypto';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SwarmError, sharedError } from './errors.js';
import { readPrivateKeyFile, readRequiredFile } from './files.js';
import { identityFromSanString, type Identity, type Role } from './identity.js';
import { TLS_POLICY } from './tls-policy.js';
import { parseSingleCertificate } from './pem.js';

/** What a process needs to speak mutual TLS: the cluster CA, its own chain and key, who it is. */
export interface TlsMaterial {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly identity: Identity;
  /** Certificate expiry, ms since epoch. */
  readonly notAfter: number;
  readonly serial: string;
}

/**
 * Load `<dir>/ca.crt`, `<dir>/<base>.crt`, `<dir>/<base>.key` (base: agent, updater, controller, operator).
 * Checks the key's permissions, that the key matches the certificate, that the certificate
 * was issued by that CA, and reads the identity from it.
 */
export async function loadTlsMaterial(dir: string, base: string, expectedCluster?: string): Promise<TlsMaterial> {
  let files: [string, string, string];
  try {
    files = await Promise.all([
      readRequiredFile(join(dir, 'ca.crt'), 'CA certificate'),
      readRequiredFile(join(dir, `${base}.crt`), 'certificate'),
      readPrivateKeyFile(join(dir, `${base}.key`)),
    ]);
  } catch (err) {
    throw await explainMissingIdentity(err, dir, base);
  }
  const [ca, cert, key] = files;
  return checkTlsMaterial({ ca, cert, key }, `${dir}/${base}`, expectedCluster);
}

/** What to do when a role's files are missing: the advice depends on the role, and on what the directory holds instead. */
async function explainMissingIdentity(err: unknown, dir: string, base: string): Promise<unknown> {
  if (!(err instanceof SwarmError) || err.code !== 'SWARM_ERR_TLS_FILE_MISSING') return err;
  const cause = (err.cause as NodeJS.ErrnoException | undefined)?.code;
  if (cause === 'EACCES' || cause === 'EPERM') {
    return sharedError('SWARM_ERR_PERMISSION_DENIED', `cannot read the ${base} identity in ${dir}: permission denied; run as the user that owns it (or root)`, { cause: err });
  }
  const present = await readdir(dir).catch(() => [] as string[]);
  const other = ['operator', 'controller', 'updater', 'agent'].find((r) => r !== base && present.includes(`${r}.key`));
  const how: Record<string, string> = {
    operator: 'point --identity (SWARMCTL_IDENTITY) at an operator identity directory: swarmctl operator add NAME --out DIR, or on the controller host swarm-controller issue-operator',
    agent: 'enroll this host (swarm-updater join) or point --pki-dir at its PKI directory',
    updater: 'enroll this host (swarm-updater join) or point --pki-dir at its PKI directory',
    controller: 'point --state-dir at a directory made by swarm-controller init',
  };
  const found = other ? `${dir} holds a ${other} identity, not ${/^[aeiou]/.test(base) ? 'an' : 'a'} ${base} one` : `${dir} holds no ${base} identity (${base}.crt, ${base}.key, ca.crt)`;
  return sharedError('SWARM_ERR_TLS_FILE_MISSING', `${found}; ${how[base] ?? 'check the directory'}`, { cause: err });
}

/** Validate PEM material already in memory; `what` names it in errors. */
export function checkTlsMaterial(pem: { ca: string; cert: string; key: string }, what: string, expectedCluster?: string): TlsMaterial {
  // Every TLS context built from this material trusts each certificate in `ca`, so a second one would be a
  // second trust root nobody pinned: the CA must be exactly one certificate.
  const single = parseSingleCertificate(pem.ca);
  if (!single.ok) {
    throw sharedError('SWARM_ERR_TLS_CA_BUNDLE', `${what}: ca.crt ${single.reason}; restore the cluster CA alone (re-enroll, or copy it from the controller's pki/ca.crt)`);
  }
  const caCert = single.cert.x509;
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(pem.cert);
  } catch (err) {
    throw sharedError('SWARM_ERR_TLS_FILE_INVALID', `${what}: certificate or CA is not valid PEM (${(err as Error).message})`, { cause: err });
  }
  let keyObject;
  try {
    keyObject = createPrivateKey(pem.key);
  } catch (err) {
    throw sharedError('SWARM_ERR_TLS_FILE_INVALID', `${what}.key is not a valid private key (${(err as Error).message})`, { cause: err });
  }
  if (!leaf.checkPrivateKey(keyObject)) {
    throw sharedError('SWARM_ERR_TLS_FILE_INVALID', `${what}.key does not belong to ${what}.crt; re-enroll or restore the matching pair`);
  }
  if (!leaf.checkIssued(caCert) || !leaf.verify(caCert.publicKey)) {
    throw sharedError('SWARM_ERR_TLS_FILE_INVALID', `${what}.crt was not issued by the CA in ca.crt`);
  }
  const identity = identityFromSanString(leaf.subjectAltName, expectedCluster);
  return Object.freeze({
    ca: pem.ca,
    cert: pem.cert,
    key: pem.key,
    identity,
    notAfter: Date.parse(leaf.validTo),
    serial: leaf.serialNumber.toLowerCase(),
  });
}

export interface ServerTlsOptions {
  /** 'required': handshake fails without a valid client certificate. 'optional': routes decide (enrollment). */
  clientCert?: 'required' | 'optional';
  /** PEM CRL(s) enforced by OpenSSL at handshake, in addition to the per-request denylist. */
  crl?: string | string[];
}

/** The `https` options for fastify: mutual TLS against the cluster CA only, with our protocol policy (shared/tls-policy.ts). */
export function buildServerHttpsOptions(material: TlsMaterial, options: ServerTlsOptions = {}): {
  key: string; cert: string; ca: string; requestCert: true; rejectUnauthorized: boolean; minVersion: 'TLSv1.2'; ciphers: string; honorCipherOrder: true; secureOptions: number; crl?: string | string[];
} {
  return {
    key: material.key,
    cert: material.cert,
    ca: material.ca, // replaces Node's default roots: the system store is never trusted
    requestCert: true,
    rejectUnauthorized: (options.clientCert ?? 'required') === 'required',
    ...TLS_POLICY,
    honorCipherOrder: true,
    // A TLS 1.2 client could renegotiate with another certificate on a live connection; refuse it, so a
    // connection's verified identity never changes (getPeer caches it per socket).
    secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION,
    ...(options.crl ? { crl: options.crl } : {}),
  };
}

/** What a client expects the server to be; checked instead of host names. */
export interface ServerExpectation {
  role: Role;
  /** The server's name when it matters (the agent of this host). */
  name?: string;
  /** Defaults to the client's own cluster. */
  cluster?: string;
}

/** EKU OIDs (RFC 5280 §4.2.1.12). */
const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/**
 * OpenSSL treats a certificate without an extendedKeyUsage extension as good for every purpose; every
 * Swarm leaf names its EKU, so one without it (or without this purpose) is not ours to accept.
 */
function hasExtKeyUsage(cert: PeerCertificate, oid: string): boolean {
  return Array.isArray(cert.ext_key_usage) && cert.ext_key_usage.includes(oid);
}

/** Check a server certificate against what we expect; an Error refuses the connection. */
export function checkServerIdentity(cert: PeerCertificate, cluster: string, expect: ServerExpectation): Error | undefined {
  if (!hasExtKeyUsage(cert, EKU_SERVER_AUTH)) return new Error('server certificate does not carry the serverAuth extended key usage; it is not a Swarm server identity');
  try {
    const id = identityFromSanString(cert.subjectaltname, expect.cluster ?? cluster);
    if (id.role !== expect.role) return new Error(`server is ${id.role}/${id.name}, expected a ${expect.role}`);
    if (expect.name !== undefined && id.name !== expect.name) return new Error(`server is ${id.role}/${id.name}, expected ${expect.role}/${expect.name}`);
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

const peerCache = new WeakMap<TLSSocket, { identity: Identity; serial: string } | null>();

/**
 * The verified peer of a TLS socket (chain checked by OpenSSL against our CA), or undefined
 * when it presented no certificate, an untrusted one, one without the clientAuth EKU, or one without a
 * valid Swarm identity.
 * Cached per socket: the certificate of a connection cannot change (servers refuse renegotiation).
 */
export function getPeer(socket: TLSSocket, cluster: string): { identity: Identity; serial: string } | undefined {
  const cached = peerCache.get(socket);
  if (cached !== undefined) return cached ?? undefined;
  let result: { identity: Identity; serial: string } | null = null;
  if (socket.authorized) {
    const cert = socket.getPeerCertificate();
    if (cert && cert.subjectaltname !== undefined && hasExtKeyUsage(cert, EKU_CLIENT_AUTH)) {
      try {
        result = { identity: identityFromSanString(cert.subjectaltname, cluster), serial: cert.serialNumber.toLowerCase() };
      } catch {
        result = null;
      }
    }
  }
  peerCache.set(socket, result);
  return result ?? undefined;
}
