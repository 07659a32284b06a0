// The controller's storage contract: one interface, engines behind it (SQLite today), one contract test suite.
import type { RolloutView } from '../rollout/step.js';
import type { Role } from '../../shared/identity.js';
import type { RolloutHostState, RolloutReason, RolloutState } from '../rollout/model.js';

export interface HostRecord {
  name: string;
  /** The updater's HOST[:PORT], or null when unknown. */
  address: string | null;
  labels: Record<string, string>;
  createdAt: number;
  /** When the host consumed its join token; null until then. */
  enrolledAt: number | null;
  removedAt: number | null;
}

export interface JoinTokenRecord {
  /** sha256 hex of the whole token; the token itself is never stored. */
  hash: string;
  hostName: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

/** Why a token was not consumed; the controller logs it but answers one generic error. */
export type TokenRefusal = 'unknown' | 'expired' | 'used' | 'name-mismatch' | 'host-missing' | 'host-enrolled';

export interface CertificateRecord {
  serial: string;
  role: Role;
  name: string;
  notBefore: number;
  notAfter: number;
  issuedAt: number;
  revokedAt: number | null;
  /** Lowercase hex SHA-256 of the public key (SPKI DER); null for certificates recorded before it was kept. */
  keySha256?: string | null;
}

export interface ChannelReport {
  /** The validated AgentHealth / UpdaterStatus payload. */
  report: unknown;
  at: number;
  certNotAfter: number | null;
}

export interface HostReportRecord {
  hostName: string;
  lastContact: number | null;
  agent: ChannelReport | null;
  updater: ChannelReport | null;
}

/** One channel (role and host) open on one controller process. */
export interface ChannelPresenceKey {
  role: 'agent' | 'updater';
  hostName: string;
}

/** A channel open on a replica (a controller process sharing the database), as the store records it for the others. */
export interface ChannelPresenceRecord extends ChannelPresenceKey {
  replica: string;
}

/** Serials a replica revoked (and the host they belonged to, when a host was removed), told to the other replicas. */
export interface RevocationNotice {
  /** The replica that revoked them (a replica ignores its own notices). */
  origin: string;
  serials: string[];
  host?: string;
}

export interface RevocationFeedHandlers {
  /** A notice from any replica (this one's own included). */
  notice(notice: RevocationNotice): void;
  /** The feed (re)connected: notices may have been missed meanwhile, so re-read the revoked serials. */
  resync(): void;
  /** The feed lost its connection, or a notice could not be read (it reconnects by itself). */
  error(err: Error): void;
}

/** Revocation notices between the processes sharing a database (SQLite: one process, so nobody to tell). */
export interface RevocationFeed {
  publish(notice: RevocationNotice): Promise<void>;
  close(): Promise<void>;
}

/** A label edit: keys set (added or changed), then keys removed. */
export interface LabelChange {
  set: Record<string, string>;
  remove: readonly string[];
}

/**
 * Conditions checked in the same transaction that records an issued certificate. A certificate the store
 * refuses to record is never handed out, so a check made earlier (before signing) cannot be raced.
 */
export interface IssueGuard {
  /** The host of that name exists and is not removed ('active'), and has consumed its join token ('enrolled'). */
  host?: 'active' | 'enrolled';
  /** A new identity (operators): none of its unrevoked certificates is valid at this time. */
  vacantAt?: number;
  /**
   * A renewal presented by this serial: it is still unrevoked and the new key was never certified before (for
   * any identity). Recording it then revokes every other unrevoked certificate of the identity (at `issuedAt`),
   * as `serialsRetiredByRenewal` decides, and returns those serials as `retired`.
   */
  renewing?: string;
}

/** Why an issued certificate was not recorded. */
export type IssueRefusal = 'host-missing' | 'identity-held' | 'certificate-revoked' | 'key-known';

export interface AuditEntry {
  id: number;
  at: number;
  /** The caller's SPIFFE URI (or "system" / "enrollment"). */
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
}

/** A rollout as stored: the step function's view of it (state, strategy, budget, waves) plus who and when. */
export interface RolloutRecord extends RolloutView {
  id: string;
  releaseId: string;
  version: string;
  kind: 'agent' | 'updater';
  reason: RolloutReason | null;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  endedAt: number | null;
}

export interface RolloutHostError {
  code: string;
  message: string;
  detail?: string;
}

/** One host of a rollout. */
export interface RolloutHostRecord {
  rolloutId: string;
  name: string;
  wave: number;
  state: RolloutHostState;
  error: RolloutHostError | null;
  /** The release the host ran before this rollout changed it (what `rollback --rollout` returns it to). */
  from: string | null;
  /** When the push last started (settling compares the updater's records with it). */
  pushStartedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
}

/** One entry of a rollout's event log; `seq` increases strictly per rollout. */
export interface RolloutEventRecord {
  rolloutId: string;
  seq: number;
  at: number;
  type: string;
  host: string | null;
  wave: number | null;
  actor: string | null;
  reason: string | null;
  message: string;
}

export type NewRolloutEvent = Omit<RolloutEventRecord, 'rolloutId' | 'seq'>;

/** Who drives a rollout (one controller process at a time) and the fencing token of that tenure. */
export interface RolloutLeaseRecord {
  rolloutId: string;
  /** The driving process; null once released. */
  holder: string | null;
  /** Increases strictly with every grant for this rollout, whoever gets it: a later driver always holds a larger one. */
  token: number;
  /** Until when (ms, the holder's clock) the holder counts as alive; 0 once released. */
  expiresAt: number;
}

/** The lease a driver's write is made under: refused unless the rollout's lease row still names this holder and token. */
export interface RolloutFence {
  holder: string;
  token: number;
}

/**
 * One transition of a rollout, applied in one transaction: every condition holds or nothing is written. The
 * events are appended with the change they record.
 */
export interface RolloutChange {
  rolloutId: string;
  /**
   * A driver's write: applied only while the rollout's lease is held under this holder and token (checked in the same
   * transaction), so a driver that lost its lease writes nothing. Operator actions (pause, resume, abort, fleet
   * rollback) carry none: any replica may make them.
   */
  fence?: RolloutFence;
  /** Change the rollout only while it is in one of `whenState` (any state when left out). */
  rollout?: { whenState?: readonly RolloutState[]; set: Partial<Omit<RolloutRecord, 'id' | 'releaseId' | 'version' | 'kind' | 'createdBy' | 'createdAt'>> };
  /** Change one host only while it is in one of `whenState`: `pending -> pushing` happens once, whoever asks. */
  host?: { name: string; whenState: readonly RolloutHostState[]; set: Partial<Omit<RolloutHostRecord, 'rolloutId' | 'name' | 'wave'>> };
  events: readonly NewRolloutEvent[];
  at: number;
}

export type RolloutChangeResult =
  | { ok: true; rollout: RolloutRecord; events: RolloutEventRecord[] }
  | { ok: false; reason: 'not-found' | 'fenced' | 'rollout-state' | 'host-state'; rollout?: RolloutRecord };
/** A stored release (DESIGN.md §4): the tarball's id, what its manifest says, who uploaded it and when. */
export interface ReleaseRecord {
  /** Lowercase hex SHA-256 of the tarball bytes. */
  id: string;
  name: string;
  version: string;
  /** Bytes of the tarball. */
  size: number;
  /** base64 Ed25519 signature over the id, when one came with the upload. */
  signature: string | null;
  /** The uploader's SPIFFE URI. */
  uploadedBy: string;
  uploadedAt: number;
}

/**
 * Release bytes kept in the database in chunks, by an engine that every replica shares (PostgreSQL), so that any
 * replica can stream any release. An upload stages a blob (chunks appended as they arrive, invisible to readers);
 * `commitReleaseBlob` makes it the release's bytes in the same transaction as the record. SQLite has none: its
 * controller is alone and keeps blobs in `<state-dir>/releases/`.
 */
export interface ReleaseBlobTables {
  /** Stage a new blob for an upload of `releaseId`; readers see none of it until it is committed. */
  beginReleaseBlob(blobId: string, releaseId: string, now: number): Promise<void>;
  /** Append chunk `seq` (0, 1, ... in order) of a staged blob. */
  appendReleaseChunk(blobId: string, seq: number, data: Uint8Array): Promise<void>;
  /**
   * Atomically: record the release with this blob as its bytes; when the id is recorded already, attach the blob if
   * the record has none (one recorded before blobs were kept here), else drop the staged blob. Answers the stored
   * record and whether this call created it (as `insertRelease`).
   */
  commitReleaseBlob(blobId: string, release: ReleaseRecord): Promise<{ release: ReleaseRecord; created: boolean }>;
  /** Drop a staged blob and its chunks (a refused or failed upload); a committed blob is never dropped. */
  discardReleaseBlob(blobId: string): Promise<void>;
  /** The committed blob holding a recorded release's bytes, or undefined when there is none. */
  findReleaseBlob(releaseId: string): Promise<string | undefined>;
  /** The first chunk of a blob with `seq >= fromSeq` (keyset: one chunk per call), or undefined past the last. */
  readReleaseChunk(blobId: string, fromSeq: number): Promise<{ seq: number; data: Buffer } | undefined>;
  /** Drop staged blobs begun before `before` that no record names (uploads whose controller died); how many. */
  sweepReleaseBlobs(before: number): Promise<number>;
}

/** What a RELEASE reference (an id, a unique prefix of 8+ hex, or a version) resolved to. */
export type ReleaseResolution =
  | { ok: true; release: ReleaseRecord }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'ambiguous'; candidates: ReleaseRecord[] };

/**
 * Every method returns a promise, so that a networked engine (PostgreSQL) can stand behind it; every method
 * rejects (never throws) on failure, and after `close()`. A method that checks and then writes does both in one
 * transaction inside the engine: callers never read, await and write back for anything that must be atomic.
 * What each method guarantees is written in docs/controller.md (Storage).
 */
export interface Store {
  /** Which engine this is (metrics, where release blobs live, and whether replicas share it: `isSharedStore`). */
  readonly engine: 'sqlite' | 'postgres';
  /** Release blobs in the database, on an engine that replicas share (PostgreSQL); absent on SQLite. */
  readonly releaseBlobs?: ReleaseBlobTables;

  // hosts
  insertHost(host: Omit<HostRecord, 'enrolledAt' | 'removedAt'>): Promise<void>;
  /** Re-open a removed host's name for a new enrollment. */
  reviveHost(host: Omit<HostRecord, 'enrolledAt' | 'removedAt'>): Promise<void>;
  getHost(name: string): Promise<HostRecord | undefined>;
  /** Active (not removed) hosts, by name. */
  listHosts(): Promise<HostRecord[]>;
  setHostLabels(name: string, labels: Record<string, string>): Promise<void>;
  setHostAddress(name: string, address: string | null): Promise<void>;
  markHostRemoved(name: string, at: number): Promise<void>;
  /**
   * Atomically: refuse when the name is an active, enrolled host; otherwise create it, or reopen it (a pending or
   * removed name, whose unused tokens are dropped), and store its join token.
   */
  registerHost(host: Omit<HostRecord, 'enrolledAt' | 'removedAt'>, token: JoinTokenRecord): Promise<{ ok: true } | { ok: false; reason: 'host-enrolled' }>;
  /** Atomically: mark an active host removed and drop its reports and unused tokens; false when there was none. */
  removeHost(name: string, at: number): Promise<boolean>;
  /** Atomically read, change (`applyLabelChange`) and write an active host's labels; the host as changed, or undefined. */
  changeHostLabels(name: string, change: LabelChange): Promise<HostRecord | undefined>;

  // join tokens
  insertJoinToken(token: JoinTokenRecord): Promise<void>;
  /** Drop unused tokens of a host (a new `host add` replaces them; `token revoke`); returns how many. */
  deleteUnusedTokens(hostName: string): Promise<number>;
  /** Tokens not yet used and not expired at `now`, oldest first (the hash only identifies them; no secret here). */
  listPendingTokens(now: number): Promise<Array<{ hostName: string; createdAt: number; expiresAt: number }>>;
  /**
   * Atomically: find the token by hash, check it is unused, unexpired, for `name`, and that the host
   * exists, is active and not yet enrolled; then mark the token used and the host enrolled.
   */
  consumeJoinToken(hash: string, name: string, now: number): Promise<{ ok: true } | { ok: false; reason: TokenRefusal }>;

  // certificates
  recordCertificate(cert: Omit<CertificateRecord, 'revokedAt'>): Promise<void>;
  /** Record an issued certificate only if the guard holds, in one transaction (see IssueGuard). */
  recordIssued(cert: Omit<CertificateRecord, 'revokedAt'>, guard: IssueGuard): Promise<{ ok: true; retired: string[] } | { ok: false; reason: IssueRefusal }>;
  getCertificate(serial: string): Promise<CertificateRecord | undefined>;
  listCertificates(filter?: { role?: Role; name?: string }): Promise<CertificateRecord[]>;
  /** Every certificate ever recorded with this public key (revoked or not). */
  findCertificatesByKey(keySha256: string): Promise<CertificateRecord[]>;
  /** Revoke every unrevoked certificate of an identity; returns the serials revoked now. */
  revokeIdentity(role: Role, name: string, at: number): Promise<string[]>;
  /** Revoke these serials where not yet revoked; returns the serials revoked now. */
  revokeSerials(serials: readonly string[], at: number): Promise<string[]>;
  /** Revoked serials, oldest revocation first; `sinceMs`: only those revoked at or after it. */
  listRevoked(options?: { sinceMs?: number }): Promise<Array<{ serial: string; revokedAt: number }>>;
  /** Listen for revocation notices of other processes on this database (see RevocationFeed); `close()` of the store closes it too. */
  openRevocationFeed(handlers: RevocationFeedHandlers): Promise<RevocationFeed>;
  /**
   * Atomically: the next CRL number (counter `crl`) and every revoked serial at that moment, so that a CRL with a
   * higher number never lists fewer serials.
   */
  nextCrl(): Promise<{ number: number; revoked: Array<{ serial: string; revokedAt: number }> }>;

  // reports
  saveReports(reports: HostReportRecord[]): Promise<void>;
  listReports(): Promise<HostReportRecord[]>;

  // channel presence (replicas)
  /**
   * Atomically: mark `replica` alive at `nowMs`, record the channels it `opened` and drop those it `closed`, and drop
   * replicas (with their channels) not alive since `reapBeforeMs`. `known` is false when the replica had no record
   * (its first call, or it was reaped while frozen): its channels recorded before are gone, it should record them all.
   */
  savePresence(replica: string, nowMs: number, change: { opened: readonly ChannelPresenceKey[]; closed: readonly ChannelPresenceKey[] }, reapBeforeMs: number): Promise<{ known: boolean }>;
  /** The channels of every replica alive at or after `aliveSinceMs`. */
  listPresence(aliveSinceMs: number): Promise<ChannelPresenceRecord[]>;
  /** Forget a replica and its channels (it stops). */
  dropReplica(replica: string): Promise<void>;

  // audit (append-only)
  appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<AuditEntry>;
  /** Oldest first unless `order: 'desc'`; `sinceMs` keeps entries at or after that time. */
  listAudit(options?: { limit?: number; afterId?: number; sinceMs?: number; order?: 'asc' | 'desc' }): Promise<AuditEntry[]>;

  // rollouts
  /** Write a new rollout, its hosts and its first events in one transaction. */
  createRollout(rollout: RolloutRecord, hosts: readonly RolloutHostRecord[], events: readonly NewRolloutEvent[]): Promise<RolloutEventRecord[]>;
  getRollout(id: string): Promise<RolloutRecord | undefined>;
  /** Newest first; `unsettled`: not yet done or aborted, or with a host still pushing (what a restart resumes). */
  listRollouts(filter?: { unsettled?: boolean; limit?: number }): Promise<RolloutRecord[]>;
  /** A rollout's hosts, by wave then name. */
  listRolloutHosts(rolloutId: string): Promise<RolloutHostRecord[]>;
  /** Events with seq > afterSeq, in order. */
  listRolloutEvents(rolloutId: string, options?: { afterSeq?: number; limit?: number }): Promise<RolloutEventRecord[]>;
  /** Apply a conditional transition (see RolloutChange); nothing is written when a condition fails. */
  changeRollout(change: RolloutChange): Promise<RolloutChangeResult>;
  /**
   * Atomically: grant the rollout's lease to `holder` until `nowMs + ttlMs` when it is free (never granted, released)
   * or expired at `nowMs`, or whoever holds it with `evenIfHeld` (a controller that is alone on its database takes
   * its dead predecessor's leases at start); the grant's token is the rollout's previous token plus one. Null when it
   * is held, or the rollout does not exist.
   */
  acquireRolloutLease(rolloutId: string, holder: string, nowMs: number, ttlMs: number, options?: { evenIfHeld?: boolean }): Promise<{ token: number } | null>;
  /** Extend the lease to `nowMs + ttlMs` while it is still this holder's under this token (even past its expiry, if nobody took it); false otherwise. */
  renewRolloutLease(rolloutId: string, holder: string, token: number, nowMs: number, ttlMs: number): Promise<boolean>;
  /** Free the lease at once (the token stays, the next grant counts on from it) while it is this holder's under this token. */
  releaseRolloutLease(rolloutId: string, holder: string, token: number): Promise<boolean>;
  getRolloutLease(rolloutId: string): Promise<RolloutLeaseRecord | undefined>;
  // releases
  /** Store a release once: a second insert of the same id changes nothing and answers the stored record (`created` false). */
  insertRelease(release: ReleaseRecord): Promise<{ release: ReleaseRecord; created: boolean }>;
  getRelease(id: string): Promise<ReleaseRecord | undefined>;
  /** Newest upload first. */
  listReleases(): Promise<ReleaseRecord[]>;
  /** Resolve a RELEASE reference (`decideReleaseRef`): an exact id, else the one release matching an 8+ hex prefix or a version. */
  resolveRelease(ref: string): Promise<ReleaseResolution>;
  /** Rollouts that sent this release, newest first (empty until the rollouts table exists). */
  rolloutsUsingRelease(id: string): Promise<Array<{ id: string; state: string; createdAt: number }>>;

  /** A monotonic counter (CRL numbers). */
  nextCounter(name: string): Promise<number>;

  /** Release the engine; calling it again does nothing. */
  close(): Promise<void>;
}

/**
 * Whether other controller processes (replicas) may use this store's database at the same time (PostgreSQL): then
 * what one process keeps in memory (reports, open channels, the denylist) is shared through the store.
 */
export function isSharedStore(store: Pick<Store, 'engine'>): boolean {
  return store.engine === 'postgres';
}
