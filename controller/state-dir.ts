// The controller's state directory (DESIGN.md §3): create it once (init), load it (serve), renew its own certificate.
import { describeSystemError } from '../shared/system-errors.js';
import { X509Certificate } from 'node:crypto';
import { access, chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertNoIdentity, CertificateAuthority, createCa, createCsr, generateKeyPair, NOT_BEFORE_SKEW_MS, verifyCsr, writeIdentityFiles } from '../pki/index.js';
import { ensurePrivateDir, readPrivateKeyFile, writeFileAtomic, makeDirs } from '../shared/files.js';
import { LIMITS } from '../shared/limits.js';
import { loadTlsMaterial, type TlsMaterial } from '../shared/tls.js';
import { controllerError } from './errors.js';
import { assertOwnStateDir, assertParentsSafe, assertStateDirSafe } from './state-perms.js';
import { openPostgresStore, openSqliteStore, redactStoreUrl, type Store, type StoreSpec } from './store/index.js';

/** Short, so that a revoked controller certificate stops working everywhere soon even where the CRL does not reach. */
export const CONTROLLER_LIFETIME_MS = LIMITS['revocation.controllerCertLifetime'].value;
export const OPERATOR_INIT_LIFETIME_MS = 7 * 86_400_000;

export function statePaths(stateDir: string) {
  return {
    pki: join(stateDir, 'pki'),
    caCert: join(stateDir, 'pki', 'ca.crt'),
    caKey: join(stateDir, 'pki', 'ca.key'),
    operators: join(stateDir, 'operators'),
    releases: join(stateDir, 'releases'),
    db: join(stateDir, 'swarm.db'),
    /** Written by `init --store postgres://...`: the data lives in PostgreSQL (the URL without its password). */
    storeFile: join(stateDir, 'store.json'),
  };
}

/** What store.json says: the engine and where (never a password). */
interface StoreFile { engine: 'postgres'; database: string }

async function readStoreFile(path: string): Promise<StoreFile | undefined> {
  if (!(await exists(path))) return undefined;
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<StoreFile>;
    if (parsed.engine === 'postgres' && typeof parsed.database === 'string') return { engine: 'postgres', database: parsed.database };
  } catch {
    // reported below
  }
  throw controllerError('SWARM_ERR_STATE_DIR_INVALID', `${path} is not a store description ({"engine":"postgres","database":...}); restore it from another replica's state directory`);
}

/**
 * Open the store of an initialised state directory with the engine `--store` named, after checking that the state
 * directory was initialised for that engine: its data is in swarm.db (SQLite) or, when init wrote store.json, in
 * PostgreSQL. Opening the other engine would serve an empty fleet.
 */
export async function openStateStore(stateDir: string, spec: StoreSpec = { engine: 'sqlite' }, controllerSerial?: string): Promise<Store> {
  const p = statePaths(stateDir);
  const recorded = await readStoreFile(p.storeFile);
  if (spec.engine === 'sqlite') {
    if (recorded) throw controllerError('SWARM_ERR_STORE_MISMATCH', `${stateDir} keeps its data in PostgreSQL (${recorded.database}); pass --store postgres://... as init was given`);
    if (!(await exists(p.db))) throw controllerError('SWARM_ERR_STATE_DIR_INVALID', `${stateDir} is not a controller state directory (no swarm.db); run swarm-controller init --state-dir ${stateDir} --cluster NAME`);
    return openSqliteStore(p.db);
  }
  if (!recorded) {
    throw controllerError('SWARM_ERR_STORE_MISMATCH', `${stateDir} was not initialised with --store postgres:// (no store.json${(await exists(p.db)) ? '; its data is in swarm.db, SQLite: leave --store out' : ''})`);
  }
  const store = await openPostgresStore(spec.url);
  // A database of another cluster (a wrong URL) has never recorded this state directory's controller certificate.
  if (controllerSerial !== undefined && !(await store.getCertificate(controllerSerial).catch(async (err: unknown) => {
    await store.close();
    throw err;
  }))) {
    await store.close();
    throw controllerError('SWARM_ERR_STORE_MISMATCH', `${redactStoreUrl(spec.url)} has no record of ${stateDir}'s controller certificate (serial ${controllerSerial}): it holds another cluster's data, or none; check --store`);
  }
  return store;
}

/** Where a store spec keeps the data, as it may be shown (no password). */
export function describeStoreSpec(spec: StoreSpec, stateDir: string): string {
  return spec.engine === 'sqlite' ? statePaths(stateDir).db : redactStoreUrl(spec.url);
}

/** Whether a path exists; a path we may not read is a permission problem to report, not a missing state dir. */
const exists = (p: string): Promise<boolean> => access(p).then(() => true, (err: NodeJS.ErrnoException) => {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return false;
  throw describeSystemError(err) ?? err;
});

export interface InitOptions {
  stateDir: string;
  cluster: string;
  sans: readonly string[];
  now?: number;
  /** Where the data goes: swarm.db in the state dir (default), or a PostgreSQL database that holds no cluster yet. */
  store?: StoreSpec;
}

/** Create CA, controller identity, the `admin` operator, releases/ and the database; never overwrites. */
export async function initStateDir(options: InitOptions): Promise<{ caHash: string; adminDir: string }> {
  const p = statePaths(options.stateDir);
  for (const path of [p.caCert, p.caKey, p.db, p.storeFile, join(p.pki, 'controller.crt'), join(p.operators, 'admin')]) {
    if (await exists(path)) throw controllerError('SWARM_ERR_STATE_DIR_EXISTS', `${path} already exists; ${options.stateDir} is an initialised state directory (refusing to overwrite it)`);
  }
  // Before anything is written: no other user may be able to swap the directory or plant files in it.
  await assertParentsSafe(options.stateDir);
  const created = await makeDirs(options.stateDir, 0o700);
  if (created) await chmod(options.stateDir, 0o700); // the umask may have widened or narrowed it
  await assertOwnStateDir(options.stateDir);
  const spec = options.store ?? { engine: 'sqlite' };
  // PostgreSQL first: an unreachable database, or one that already holds a cluster, fails init before a CA exists.
  let store: Store | undefined = spec.engine === 'postgres' ? await openEmptyPostgres(spec.url) : undefined;
  try {
    if (spec.engine === 'postgres') {
      await writeFileAtomic(p.storeFile, `${JSON.stringify({ engine: 'postgres', database: redactStoreUrl(spec.url) } satisfies StoreFile, null, 2)}\n`, 0o600);
    }
    const caPem = await createCa({ cluster: options.cluster, ...(options.now ? { now: options.now } : {}) });
    const ca = CertificateAuthority.load(caPem);
    await ensurePrivateDir(p.pki);
    await writeFileAtomic(p.caKey, caPem.keyPem, 0o600);
    await writeFileAtomic(p.caCert, caPem.certPem, 0o644);
    await makeDirs(p.releases, 0o750);
    store ??= openSqliteStore(p.db);
    await issueControllerIdentity(ca, store, p.pki, options.sans, options.now);
    const adminDir = join(p.operators, 'admin');
    const key = await generateKeyPair();
    const csr = verifyCsr(createCsr({ keyPem: key.privateKeyPem, publicKeyPem: key.publicKeyPem, commonName: 'admin' }));
    const now = options.now ?? Date.now();
    const issued = ca.issue({ publicKeyPem: csr.publicKeyPem, identity: { cluster: ca.cluster, role: 'operator', name: 'admin' }, lifetimeMs: OPERATOR_INIT_LIFETIME_MS, now });
    await store.recordCertificate({ serial: issued.serial, role: 'operator', name: 'admin', notBefore: issued.notBefore, notAfter: issued.notAfter, issuedAt: now });
    await writeIdentityFiles(adminDir, 'operator', { caPem: ca.certPem, certPem: issued.certPem, keyPem: key.privateKeyPem });
    await store.appendAudit({ at: now, actor: 'system', action: 'controller.init', target: options.cluster, details: { sans: options.sans, admin: issued.serial } });
    return { caHash: ca.fingerprint, adminDir };
  } finally {
    await store?.close();
  }
}

/** Open a PostgreSQL store for init: it must hold no cluster yet (no certificate, host or audit entry). */
async function openEmptyPostgres(url: string): Promise<Store> {
  const store = await openPostgresStore(url);
  try {
    if ((await store.listCertificates()).length > 0 || (await store.listHosts()).length > 0 || (await store.listAudit({ limit: 1 })).length > 0) {
      throw controllerError('SWARM_ERR_STORE_NOT_EMPTY', `${redactStoreUrl(url)} already holds a cluster's data; init needs an empty database (another replica joins by copying an initialised state directory and running serve --store with the same URL)`);
    }
    return store;
  } catch (err) {
    await store.close();
    throw err;
  }
}

async function issueControllerIdentity(ca: CertificateAuthority, store: Store, pkiDir: string, sans: readonly string[], now = Date.now()): Promise<void> {
  const key = await generateKeyPair();
  const issued = ca.issue({ publicKeyPem: key.publicKeyPem, identity: { cluster: ca.cluster, role: 'controller', name: 'controller' }, lifetimeMs: CONTROLLER_LIFETIME_MS, sans, now });
  await store.recordCertificate({ serial: issued.serial, role: 'controller', name: 'controller', notBefore: issued.notBefore, notAfter: issued.notAfter, issuedAt: now });
  await writeIdentityFiles(pkiDir, 'controller', { caPem: ca.certPem, certPem: issued.certPem, keyPem: key.privateKeyPem });
}

export interface LoadedState {
  ca: CertificateAuthority;
  material: TlsMaterial;
  store: Store;
}

/** Load CA and controller identity and open the database; renews the controller's certificate when < 1/3 is left. */
export async function loadStateDir(stateDir: string, now = Date.now(), spec: StoreSpec = { engine: 'sqlite' }): Promise<LoadedState & { renewed: boolean }> {
  const p = statePaths(stateDir);
  if (!(await exists(p.caCert)) || !((await exists(p.db)) || (await exists(p.storeFile)))) {
    throw controllerError('SWARM_ERR_STATE_DIR_INVALID', `${stateDir} is not a controller state directory (no pki/ca.crt, or neither swarm.db nor store.json); run swarm-controller init --state-dir ${stateDir} --cluster NAME`);
  }
  // Nothing from a directory another user could have changed is trusted (a pki/ of their own, say).
  await assertStateDirSafe(stateDir);
  const ca = CertificateAuthority.load({ certPem: await readFile(p.caCert, 'utf8'), keyPem: await readPrivateKeyFile(p.caKey) });
  let material = await loadTlsMaterial(p.pki, 'controller', ca.cluster);
  const store = await openStateStore(stateDir, spec, material.serial);
  try {
    // A revoked certificate on disk (restored from a backup, or a rotation that did not finish) is replaced at once:
    // hosts would refuse it.
    const revoked = (await store.getCertificate(material.serial))?.revokedAt != null;
    const renewed = await renewControllerIfDue(ca, store, p.pki, material, now, revoked);
    if (renewed) material = renewed;
    return { ca, material, store, renewed: renewed !== undefined };
  } catch (err) {
    // A pool left open would keep the process alive.
    await store.close();
    throw err;
  }
}

/** The fraction of a certificate's (un-backdated) lifetime still left. */
export function remainingFraction(certPem: string, now: number): number {
  const cert = new X509Certificate(certPem);
  const notAfter = Date.parse(cert.validTo);
  const issued = Math.min(Date.parse(cert.validFrom) + NOT_BEFORE_SKEW_MS, notAfter);
  const lifetime = Math.max(notAfter - issued, 1);
  return (notAfter - now) / lifetime;
}

/** Issue the controller a new certificate (new key, same SANs) when less than a third of its life is left (or when forced). */
export async function renewControllerIfDue(ca: CertificateAuthority, store: Store, pkiDir: string, material: TlsMaterial, now = Date.now(), force = false): Promise<TlsMaterial | undefined> {
  if (!force && remainingFraction(material.cert, now) >= 1 / 3) return undefined;
  await issueControllerIdentity(ca, store, pkiDir, sansOf(material.cert), now);
  return loadTlsMaterial(pkiDir, 'controller', ca.cluster);
}

/** The DNS names and IP addresses of a certificate, to issue its successor for the same addresses. */
function sansOf(certPem: string): string[] {
  return (new X509Certificate(certPem).subjectAltName ?? '').split(', ')
    .map((e) => (e.startsWith('DNS:') ? e.slice(4) : e.startsWith('IP Address:') ? e.slice(11) : undefined))
    .filter((s): s is string => s !== undefined);
}

/**
 * Replace the controller's identity now (new key, same SANs) and revoke every earlier controller certificate:
 * for a controller key that may have leaked. The new certificate is issued before the old ones are revoked, so
 * the state directory never holds only revoked material; a running `serve` picks both up when restarted.
 */
export async function rotateControllerIdentity(options: { stateDir: string; now?: number; store?: StoreSpec }): Promise<{ serial: string; notAfter: number; revoked: string[] }> {
  const p = statePaths(options.stateDir);
  if (!(await exists(p.caKey))) {
    throw controllerError('SWARM_ERR_STATE_DIR_INVALID', `${options.stateDir} is not a controller state directory (no pki/ca.key)`);
  }
  const ca = CertificateAuthority.load({ certPem: await readFile(p.caCert, 'utf8'), keyPem: await readPrivateKeyFile(p.caKey) });
  const current = await loadTlsMaterial(p.pki, 'controller', ca.cluster);
  const now = options.now ?? Date.now();
  const key = await generateKeyPair();
  const issued = ca.issue({ publicKeyPem: key.publicKeyPem, identity: { cluster: ca.cluster, role: 'controller', name: 'controller' }, lifetimeMs: CONTROLLER_LIFETIME_MS, sans: sansOf(current.cert), now });
  const store = await openStateStore(options.stateDir, options.store, current.serial);
  try {
    // A certificate from before controller certificates were recorded must be revocable too.
    if (!(await store.getCertificate(current.serial))) {
      const cert = new X509Certificate(current.cert);
      await store.recordCertificate({ serial: current.serial, role: 'controller', name: 'controller', notBefore: Date.parse(cert.validFrom), notAfter: current.notAfter, issuedAt: Date.parse(cert.validFrom) });
    }
    const revoked = await store.revokeIdentity('controller', 'controller', now);
    await store.recordCertificate({ serial: issued.serial, role: 'controller', name: 'controller', notBefore: issued.notBefore, notAfter: issued.notAfter, issuedAt: now });
    await writeIdentityFiles(p.pki, 'controller', { caPem: ca.certPem, certPem: issued.certPem, keyPem: key.privateKeyPem });
    await store.appendAudit({ at: now, actor: 'local:swarm-controller', action: 'controller.rotate-identity', target: 'controller', details: { serial: issued.serial, revoked } });
    return { serial: issued.serial, notAfter: issued.notAfter, revoked };
  } finally {
    await store.close();
  }
}

/**
 * Break-glass: issue an operator identity locally with the CA key (on the controller host, as its owner),
 * for when no operator can log in (every operator certificate expired or revoked). Recorded and audited.
 */
export async function issueOperatorLocally(options: { stateDir: string; name: string; outDir: string; lifetimeMs?: number; now?: number; store?: StoreSpec }): Promise<{ serial: string; notAfter: number }> {
  const p = statePaths(options.stateDir);
  if (!(await exists(p.caKey))) {
    throw controllerError('SWARM_ERR_STATE_DIR_INVALID', `${options.stateDir} is not a controller state directory (no pki/ca.key)`);
  }
  await assertStateDirSafe(options.stateDir);
  await assertNoIdentity(options.outDir, ['operator']);
  const ca = CertificateAuthority.load({ certPem: await readFile(p.caCert, 'utf8'), keyPem: await readPrivateKeyFile(p.caKey) });
  const key = await generateKeyPair();
  const now = options.now ?? Date.now();
  const issued = ca.issue({ publicKeyPem: key.publicKeyPem, identity: { cluster: ca.cluster, role: 'operator', name: options.name }, lifetimeMs: options.lifetimeMs ?? OPERATOR_INIT_LIFETIME_MS, now });
  const controller = options.store?.engine === 'postgres' ? (await loadTlsMaterial(p.pki, 'controller', ca.cluster)).serial : undefined;
  const store = await openStateStore(options.stateDir, options.store, controller);
  try {
    await store.recordCertificate({ serial: issued.serial, role: 'operator', name: options.name, notBefore: issued.notBefore, notAfter: issued.notAfter, issuedAt: now });
    await store.appendAudit({ at: now, actor: 'local:swarm-controller', action: 'operator.issue-local', target: options.name, details: { serial: issued.serial } });
  } finally {
    await store.close();
  }
  await writeIdentityFiles(options.outDir, 'operator', { caPem: ca.certPem, certPem: issued.certPem, keyPem: key.privateKeyPem });
  return { serial: issued.serial, notAfter: issued.notAfter };
}
