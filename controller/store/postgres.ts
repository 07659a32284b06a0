// The PostgreSQL store engine (node-postgres, pooled): every statement prepared once per connection (named), every
// check-then-write one transaction whose rows are locked (SELECT ... FOR UPDATE, conditional UPDATEs with row counts,
// advisory transaction locks where the rows do not exist yet), so replicas on one database cannot contradict each
// other. `pg` is loaded only when this engine is opened: a SQLite controller never loads it.
import type { Client, Pool, PoolClient } from 'pg';
import type { Role } from '../../shared/identity.js';
import { LIMITS } from '../../shared/limits.js';
import { controllerError } from '../errors.js';
import { decideReleaseRef, isReleasePrefix } from '../releases/ref.js';
import { serialsRetiredByRenewal } from '../supersede.js';
import { applyLabelChange } from './label-change.js';
import { PG_MIGRATIONS } from './postgres-migrations.js';
import { IDENTITY_LOCK_CLASS, inTransaction, LOCK_CLASS, LOCK_KEY, PG_JSON, pgStatement, Rollback, run, type Queryable } from './postgres-kit.js';
import { openPgRevocationFeed } from './postgres-notify.js';
import { openPgReleaseBlobTables } from './postgres-release-blobs.js';
import { openPgRolloutTables } from './postgres-rollouts.js';
import { rowMappers, type AuditRow, type CertRow, type HostRow, type ReleaseRow, type ReportRow, type TokenRow } from './rows.js';
import { redactStoreUrl } from './spec.js';
import type { ChannelPresenceKey, HostRecord, HostReportRecord, IssueGuard, IssueRefusal, RevocationFeed, Store, TokenRefusal } from './store.js';

const S = {
  insertHost: pgStatement('insert_host', 'INSERT INTO hosts (name, address, labels, created_at) VALUES ($1, $2, $3, $4)'),
  insertHostIfNew: pgStatement('insert_host_if_new', 'INSERT INTO hosts (name, address, labels, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING'),
  reviveHost: pgStatement('revive_host', 'UPDATE hosts SET address = $1, labels = $2, created_at = $3, enrolled_at = NULL, removed_at = NULL WHERE name = $4'),
  getHost: pgStatement('get_host', 'SELECT * FROM hosts WHERE name = $1'),
  lockHost: pgStatement('lock_host', 'SELECT * FROM hosts WHERE name = $1 FOR UPDATE'),
  shareHost: pgStatement('share_host', 'SELECT * FROM hosts WHERE name = $1 FOR SHARE'),
  listHosts: pgStatement('list_hosts', 'SELECT * FROM hosts WHERE removed_at IS NULL ORDER BY name'),
  setLabels: pgStatement('set_labels', 'UPDATE hosts SET labels = $1 WHERE name = $2'),
  setAddress: pgStatement('set_address', 'UPDATE hosts SET address = $1 WHERE name = $2'),
  removeHost: pgStatement('remove_host', 'UPDATE hosts SET removed_at = $1 WHERE name = $2 AND removed_at IS NULL'),
  deleteReport: pgStatement('delete_report', 'DELETE FROM host_reports WHERE host_name = $1'),
  enrollHost: pgStatement('enroll_host', 'UPDATE hosts SET enrolled_at = $1 WHERE name = $2'),
  insertToken: pgStatement('insert_token', 'INSERT INTO join_tokens (hash, host_name, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5)'),
  deleteUnusedTokens: pgStatement('delete_unused_tokens', 'DELETE FROM join_tokens WHERE host_name = $1 AND used_at IS NULL'),
  lockToken: pgStatement('lock_token', 'SELECT * FROM join_tokens WHERE hash = $1 FOR UPDATE'),
  pendingTokens: pgStatement('pending_tokens', 'SELECT * FROM join_tokens WHERE used_at IS NULL AND expires_at > $1 ORDER BY created_at, host_name'),
  useToken: pgStatement('use_token', 'UPDATE join_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL'),
  insertCert: pgStatement('insert_cert', 'INSERT INTO certificates (serial, role, name, not_before, not_after, issued_at, key_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7)'),
  certsByKey: pgStatement('certs_by_key', 'SELECT * FROM certificates WHERE key_sha256 = $1 ORDER BY issued_at, serial'),
  anyCertWithKey: pgStatement('any_cert_with_key', 'SELECT 1 FROM certificates WHERE key_sha256 = $1 LIMIT 1'),
  getCert: pgStatement('get_cert', 'SELECT * FROM certificates WHERE serial = $1'),
  lockCert: pgStatement('lock_cert', 'SELECT * FROM certificates WHERE serial = $1 FOR UPDATE'),
  // One statement per filter, so each plan can use its index.
  listCerts: pgStatement('list_certs', 'SELECT * FROM certificates ORDER BY issued_at, serial'),
  listCertsByRole: pgStatement('list_certs_by_role', 'SELECT * FROM certificates WHERE role = $1 ORDER BY issued_at, serial'),
  listCertsByName: pgStatement('list_certs_by_name', 'SELECT * FROM certificates WHERE name = $1 ORDER BY issued_at, serial'),
  listCertsByIdentity: pgStatement('list_certs_by_identity', 'SELECT * FROM certificates WHERE role = $1 AND name = $2 ORDER BY issued_at, serial'),
  heldAt: pgStatement('held_at', 'SELECT 1 FROM certificates WHERE role = $1 AND name = $2 AND revoked_at IS NULL AND not_after > $3 LIMIT 1'),
  lockIdentity: pgStatement('lock_identity', `SELECT pg_advisory_xact_lock(${IDENTITY_LOCK_CLASS}, hashtext($1 || '/' || $2))`),
  revokeIdentity: pgStatement('revoke_identity', 'UPDATE certificates SET revoked_at = $1 WHERE role = $2 AND name = $3 AND revoked_at IS NULL RETURNING serial'),
  revokeSerials: pgStatement('revoke_serials', 'UPDATE certificates SET revoked_at = $1 WHERE serial = ANY($2::text[]) AND revoked_at IS NULL RETURNING serial'),
  listRevoked: pgStatement('list_revoked', 'SELECT serial, revoked_at FROM certificates WHERE revoked_at IS NOT NULL ORDER BY revoked_at, serial'),
  listRevokedSince: pgStatement('list_revoked_since', 'SELECT serial, revoked_at FROM certificates WHERE revoked_at >= $1 ORDER BY revoked_at, serial'),
  notify: pgStatement('notify', 'SELECT pg_notify($1, $2)'),
  // xmax = 0: the row was inserted now, not updated (the replica was unknown: first call, or reaped while frozen).
  seeReplica: pgStatement('see_replica', `INSERT INTO controller_replicas (id, seen_at) VALUES ($1, $2)
    ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at RETURNING (xmax = 0) AS inserted`),
  closeChannels: pgStatement('close_channels', `DELETE FROM channel_presence p USING unnest($2::text[], $3::text[]) AS c(role, host_name)
    WHERE p.replica = $1 AND p.role = c.role AND p.host_name = c.host_name`),
  openChannels: pgStatement('open_channels', `INSERT INTO channel_presence (replica, role, host_name)
    SELECT $1, c.role, c.host_name FROM unnest($2::text[], $3::text[]) AS c(role, host_name) ON CONFLICT DO NOTHING`),
  reapReplicas: pgStatement('reap_replicas', 'DELETE FROM controller_replicas WHERE seen_at < $1'),
  dropReplica: pgStatement('drop_replica', 'DELETE FROM controller_replicas WHERE id = $1'),
  listPresence: pgStatement('list_presence', `SELECT p.replica, p.role, p.host_name FROM channel_presence p JOIN controller_replicas r ON r.id = p.replica
    WHERE r.seen_at >= $1 ORDER BY p.host_name, p.role, p.replica`),
  // One statement per flush: the batch as arrays, upserted together.
  saveReports: pgStatement('save_reports', `INSERT INTO host_reports (host_name, last_contact, agent, updater)
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::jsonb[], $4::jsonb[])
    ON CONFLICT (host_name) DO UPDATE SET last_contact = excluded.last_contact, agent = excluded.agent, updater = excluded.updater`),
  listReports: pgStatement('list_reports', 'SELECT r.* FROM host_reports r JOIN hosts h ON h.name = r.host_name WHERE h.removed_at IS NULL ORDER BY r.host_name'),
  lockAudit: pgStatement('lock_audit', `SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${LOCK_KEY.audit})`),
  appendAudit: pgStatement('append_audit', 'INSERT INTO audit_log (at, actor, action, target, details) VALUES ($1, $2, $3, $4, $5) RETURNING id'),
  listAudit: pgStatement('list_audit', 'SELECT * FROM audit_log WHERE id > $1 AND at >= $2 ORDER BY id LIMIT $3'),
  listAuditDesc: pgStatement('list_audit_desc', 'SELECT * FROM audit_log WHERE id > $1 AND at >= $2 ORDER BY id DESC LIMIT $3'),
  insertRelease: pgStatement('insert_release', `INSERT INTO releases (id, name, version, size, signature, uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (id) DO NOTHING RETURNING *`),
  getRelease: pgStatement('get_release', 'SELECT * FROM releases WHERE id = $1'),
  listReleases: pgStatement('list_releases', 'SELECT * FROM releases ORDER BY uploaded_at DESC, id'),
  releasesByVersion: pgStatement('releases_by_version', 'SELECT * FROM releases WHERE version = $1'),
  releasesByPrefix: pgStatement('releases_by_prefix', 'SELECT * FROM releases WHERE starts_with(id, $1)'),
  rolloutsUsingRelease: pgStatement('rollouts_using_release', 'SELECT id, state, created_at FROM rollouts WHERE release_id = $1 ORDER BY created_at DESC, id'),
  bumpCounter: pgStatement('bump_counter', 'INSERT INTO counters (name, value) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value'),
};

const { toHost, toCert, toAudit, toRelease, toReport, toPendingToken } = rowMappers(PG_JSON);

/** Apply pending migrations, one transaction each, under an advisory lock (replicas starting together migrate once). */
async function migrate(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    for (;;) {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${LOCK_KEY.migrate})`);
      await client.query('CREATE TABLE IF NOT EXISTS swarm_schema (version integer PRIMARY KEY, applied_at bigint NOT NULL)');
      const current = Number((await client.query<{ v: number }>('SELECT COALESCE(MAX(version), 0) AS v FROM swarm_schema')).rows[0]!.v);
      if (current > PG_MIGRATIONS.length) {
        throw controllerError('SWARM_ERR_STORE', `database schema version ${current} is newer than this controller knows (${PG_MIGRATIONS.length}); upgrade swarm-controller`);
      }
      if (current === PG_MIGRATIONS.length) {
        await client.query('COMMIT');
        return;
      }
      await client.query(PG_MIGRATIONS[current]!);
      await client.query('INSERT INTO swarm_schema (version, applied_at) VALUES ($1, $2)', [current + 1, Date.now()]);
      await client.query('COMMIT');
    }
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export interface PostgresStoreOptions {
  /** Connections in the pool (default store.postgres.pool-size). */
  poolSize?: number;
}

/** Open (and migrate) the PostgreSQL database at `url`; rejects with SWARM_ERR_STORE naming the URL without its password. */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<Store> {
  const where = redactStoreUrl(url);
  let pool: Pool;
  let newListener: () => Client;
  try {
    const { default: pg } = await import('pg');
    const types = new pg.TypeOverrides();
    // bigint columns hold millisecond times, sizes and ids, all far below 2^53: numbers, as SQLite gives them.
    types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
    pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? LIMITS['store.postgres.pool-size'].value,
      connectionTimeoutMillis: LIMITS['store.postgres.connect-timeout'].value,
      statement_timeout: LIMITS['store.postgres.statement-timeout'].value,
      idle_in_transaction_session_timeout: LIMITS['store.postgres.idle-in-transaction-timeout'].value,
      application_name: 'swarm-controller',
      // TCP keepalive: a connection to a server that vanished (a failover) is noticed while idle.
      keepAlive: true,
      types,
    });
    newListener = () => new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: LIMITS['store.postgres.connect-timeout'].value,
      application_name: 'swarm-controller-listen',
      keepAlive: true,
    });
  } catch (err) {
    throw controllerError('SWARM_ERR_STORE', `cannot open PostgreSQL database ${where}: ${(err as Error).message}`, { cause: err });
  }
  // An idle connection that the server closed is dropped by the pool (the next call opens another); without a
  // listener the event would end the process.
  pool.on('error', () => undefined);
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    if ((err as { code?: string }).code === 'SWARM_ERR_STORE') throw err;
    throw controllerError('SWARM_ERR_STORE', `cannot open PostgreSQL database ${where}: ${(err as Error).message}`, { cause: err });
  }

  let closed = false;
  const feeds = new Set<RevocationFeed>();
  const open = (): void => {
    if (closed) throw controllerError('SWARM_ERR_STORE', 'the store is closed');
  };
  const tx = <T>(fn: (c: PoolClient) => Promise<T>): Promise<T> => inTransaction(pool, fn);
  const lockIdentity = (c: PoolClient, role: Role, name: string) => run(c, S.lockIdentity, role, name);
  const listRevoked = async (on: Queryable) => (await run<{ serial: string; revoked_at: number }>(on, S.listRevoked)).rows.map((r) => ({ serial: r.serial, revokedAt: r.revoked_at }));
  const hostValues = (h: Omit<HostRecord, 'enrolledAt' | 'removedAt'>) => [h.name, h.address, PG_JSON.encode(h.labels), h.createdAt];

  const removeWithReports = async (c: PoolClient, name: string, at: number): Promise<boolean> => {
    const removed = (await run(c, S.removeHost, at, name)).rowCount === 1;
    await run(c, S.deleteReport, name);
    return removed;
  };

  return {
    engine: 'postgres',
    releaseBlobs: openPgReleaseBlobTables(pool, open),
    ...openPgRolloutTables(pool).methods(open),
    insertHost: async (h) => {
      open();
      await run(pool, S.insertHost, ...hostValues(h));
    },
    reviveHost: async (h) => {
      open();
      await run(pool, S.reviveHost, h.address, PG_JSON.encode(h.labels), h.createdAt, h.name);
    },
    getHost: async (name) => {
      open();
      const row = (await run<HostRow>(pool, S.getHost, name)).rows[0];
      return row ? toHost(row) : undefined;
    },
    listHosts: async () => {
      open();
      return (await run<HostRow>(pool, S.listHosts)).rows.map(toHost);
    },
    setHostLabels: async (name, labels) => {
      open();
      await run(pool, S.setLabels, PG_JSON.encode(labels), name);
    },
    setHostAddress: async (name, address) => {
      open();
      await run(pool, S.setAddress, address, name);
    },
    markHostRemoved: async (name, at) => {
      open();
      await tx((c) => removeWithReports(c, name, at));
    },
    registerHost: async (h, t) => {
      open();
      return tx(async (c) => {
        // A new name is inserted (a concurrent add of the same name waits on it, then takes the path below).
        if ((await run(c, S.insertHostIfNew, ...hostValues(h))).rowCount === 0) {
          const existing = (await run<HostRow>(c, S.lockHost, h.name)).rows[0]!;
          if (existing.removed_at === null && existing.enrolled_at !== null) return { ok: false as const, reason: 'host-enrolled' as const };
          // A pending host gets a fresh token (the old ones stop working); a removed name is reopened.
          await run(c, S.deleteUnusedTokens, h.name);
          await run(c, S.reviveHost, h.address, PG_JSON.encode(h.labels), h.createdAt, h.name);
        }
        await run(c, S.insertToken, t.hash, t.hostName, t.createdAt, t.expiresAt, t.usedAt);
        return { ok: true as const };
      });
    },
    removeHost: async (name, at) => {
      open();
      return tx(async (c) => {
        if (!(await removeWithReports(c, name, at))) throw new Rollback(false);
        await run(c, S.deleteUnusedTokens, name);
        return true;
      });
    },
    changeHostLabels: async (name, change) => {
      open();
      return tx(async (c) => {
        const row = (await run<HostRow>(c, S.lockHost, name)).rows[0];
        if (!row || row.removed_at !== null) return undefined;
        const host = toHost(row);
        const labels = applyLabelChange(host.labels, change);
        await run(c, S.setLabels, PG_JSON.encode(labels), name);
        return { ...host, labels };
      });
    },
    insertJoinToken: async (t) => {
      open();
      await run(pool, S.insertToken, t.hash, t.hostName, t.createdAt, t.expiresAt, t.usedAt);
    },
    deleteUnusedTokens: async (hostName) => {
      open();
      return (await run(pool, S.deleteUnusedTokens, hostName)).rowCount ?? 0;
    },
    listPendingTokens: async (now) => {
      open();
      return (await run<TokenRow>(pool, S.pendingTokens, now)).rows.map(toPendingToken);
    },
    consumeJoinToken: async (hash, name, now) => {
      open();
      type Result = { ok: true } | { ok: false; reason: TokenRefusal };
      return tx(async (c): Promise<Result> => {
        // The host row first, then the token (registerHost locks in the same order): concurrent attempts queue here.
        const host = (await run<HostRow>(c, S.lockHost, name)).rows[0];
        const token = (await run<TokenRow>(c, S.lockToken, hash)).rows[0];
        if (!token) return { ok: false, reason: 'unknown' };
        if (token.used_at !== null) return { ok: false, reason: 'used' };
        if (token.expires_at <= now) return { ok: false, reason: 'expired' };
        if (token.host_name !== name) return { ok: false, reason: 'name-mismatch' };
        if (!host || host.removed_at !== null) return { ok: false, reason: 'host-missing' };
        if (host.enrolled_at !== null) return { ok: false, reason: 'host-enrolled' };
        if ((await run(c, S.useToken, now, hash)).rowCount !== 1) throw new Rollback<Result>({ ok: false, reason: 'used' });
        await run(c, S.enrollHost, now, name);
        return { ok: true };
      });
    },
    recordCertificate: async (c) => {
      open();
      await run(pool, S.insertCert, c.serial, c.role, c.name, c.notBefore, c.notAfter, c.issuedAt, c.keySha256 ?? null);
    },
    recordIssued: async (cert, guard: IssueGuard) => {
      open();
      type Result = { ok: true; retired: string[] } | { ok: false; reason: IssueRefusal };
      return tx(async (c): Promise<Result> => {
        // One identity's issuances and revocations queue behind each other, even for rows that do not exist yet.
        await lockIdentity(c, cert.role, cert.name);
        if (guard.host) {
          const host = (await run<HostRow>(c, S.shareHost, cert.name)).rows[0];
          if (!host || host.removed_at !== null || (guard.host === 'enrolled' && host.enrolled_at === null)) return { ok: false, reason: 'host-missing' };
        }
        if (guard.vacantAt !== undefined && (await run(c, S.heldAt, cert.role, cert.name, guard.vacantAt)).rows.length > 0) return { ok: false, reason: 'identity-held' };
        if (guard.renewing !== undefined) {
          const presenting = (await run<CertRow>(c, S.lockCert, guard.renewing)).rows[0];
          if (!presenting || presenting.revoked_at !== null || presenting.role !== cert.role || presenting.name !== cert.name) return { ok: false, reason: 'certificate-revoked' };
          if (cert.keySha256 && (await run(c, S.anyCertWithKey, cert.keySha256)).rows.length > 0) return { ok: false, reason: 'key-known' };
        }
        await run(c, S.insertCert, cert.serial, cert.role, cert.name, cert.notBefore, cert.notAfter, cert.issuedAt, cert.keySha256 ?? null);
        if (guard.renewing === undefined) return { ok: true, retired: [] };
        const identity = (await run<CertRow>(c, S.listCertsByIdentity, cert.role, cert.name)).rows.map(toCert);
        const retired = serialsRetiredByRenewal(identity, guard.renewing, cert.serial);
        if (retired.length > 0) await run(c, S.revokeSerials, cert.issuedAt, retired);
        return { ok: true, retired };
      });
    },
    getCertificate: async (serial) => {
      open();
      const row = (await run<CertRow>(pool, S.getCert, serial)).rows[0];
      return row ? toCert(row) : undefined;
    },
    listCertificates: async (filter = {}) => {
      open();
      const { role, name } = filter;
      const rows = role !== undefined && name !== undefined ? await run<CertRow>(pool, S.listCertsByIdentity, role, name)
        : role !== undefined ? await run<CertRow>(pool, S.listCertsByRole, role)
          : name !== undefined ? await run<CertRow>(pool, S.listCertsByName, name) : await run<CertRow>(pool, S.listCerts);
      return rows.rows.map(toCert);
    },
    findCertificatesByKey: async (keySha256) => {
      open();
      return (await run<CertRow>(pool, S.certsByKey, keySha256)).rows.map(toCert);
    },
    revokeIdentity: async (role, name, at) => {
      open();
      return tx(async (c) => {
        // After any issuance of this identity in flight has committed, so its certificate is revoked too.
        await lockIdentity(c, role, name);
        return (await run<{ serial: string }>(c, S.revokeIdentity, at, role, name)).rows.map((r) => r.serial).sort();
      });
    },
    revokeSerials: async (serials, at) => {
      open();
      const revoked = new Set((await run<{ serial: string }>(pool, S.revokeSerials, at, [...serials])).rows.map((r) => r.serial));
      return serials.filter((serial) => revoked.delete(serial));
    },
    listRevoked: async (options = {}) => {
      open();
      if (options.sinceMs === undefined) return listRevoked(pool);
      return (await run<{ serial: string; revoked_at: number }>(pool, S.listRevokedSince, options.sinceMs)).rows.map((r) => ({ serial: r.serial, revokedAt: r.revoked_at }));
    },
    openRevocationFeed: async (handlers) => {
      open();
      const feed = await openPgRevocationFeed({
        newClient: newListener,
        notify: async (channel, payload) => {
          open();
          await run(pool, S.notify, channel, payload);
        },
        onClosed: () => feeds.delete(feed),
      }, handlers);
      feeds.add(feed);
      return feed;
    },
    savePresence: async (replica, now, change, reapBefore) => {
      open();
      const roles = (keys: readonly ChannelPresenceKey[]) => keys.map((k) => k.role);
      const hosts = (keys: readonly ChannelPresenceKey[]) => keys.map((k) => k.hostName);
      return tx(async (c) => {
        const known = !(await run<{ inserted: boolean }>(c, S.seeReplica, replica, now)).rows[0]!.inserted;
        if (change.closed.length > 0) await run(c, S.closeChannels, replica, roles(change.closed), hosts(change.closed));
        if (change.opened.length > 0) await run(c, S.openChannels, replica, roles(change.opened), hosts(change.opened));
        await run(c, S.reapReplicas, reapBefore);
        return { known };
      });
    },
    listPresence: async (aliveSince) => {
      open();
      return (await run<{ replica: string; role: 'agent' | 'updater'; host_name: string }>(pool, S.listPresence, aliveSince)).rows
        .map((r) => ({ replica: r.replica, role: r.role, hostName: r.host_name }));
    },
    dropReplica: async (replica) => {
      open();
      await run(pool, S.dropReplica, replica);
    },
    nextCrl: async () => {
      open();
      // The counter row stays locked until commit: the next number's list is read after this one's committed.
      return tx(async (c) => ({ number: (await run<{ value: number }>(c, S.bumpCounter, 'crl')).rows[0]!.value, revoked: await listRevoked(c) }));
    },
    saveReports: async (reports: HostReportRecord[]) => {
      open();
      if (reports.length === 0) return;
      const last = new Map(reports.map((r) => [r.hostName, r])); // one row per host: the batch's latest
      const batch = [...last.values()];
      await run(pool, S.saveReports, batch.map((r) => r.hostName), batch.map((r) => r.lastContact),
        batch.map((r) => (r.agent ? PG_JSON.encode(r.agent) : null)), batch.map((r) => (r.updater ? PG_JSON.encode(r.updater) : null)));
    },
    listReports: async () => {
      open();
      return (await run<ReportRow>(pool, S.listReports)).rows.map(toReport);
    },
    appendAudit: async (e) => {
      open();
      // Audit writers queue on one advisory lock, so ids commit in order: a reader following with afterId never
      // skips an entry that commits late.
      const id = await tx(async (c) => {
        await run(c, S.lockAudit);
        return (await run<{ id: number }>(c, S.appendAudit, e.at, e.actor, e.action, e.target, PG_JSON.encode(e.details))).rows[0]!.id;
      });
      return { ...e, id };
    },
    listAudit: async (options = {}) => {
      open();
      return (await run<AuditRow>(pool, options.order === 'desc' ? S.listAuditDesc : S.listAudit, options.afterId ?? 0, options.sinceMs ?? 0, options.limit ?? 1000)).rows.map(toAudit);
    },
    insertRelease: async (r) => {
      open();
      const inserted = (await run<ReleaseRow>(pool, S.insertRelease, r.id, r.name, r.version, r.size, r.signature, r.uploadedBy, r.uploadedAt)).rows[0];
      if (inserted) return { release: toRelease(inserted), created: true };
      // Another upload of the id committed first (the insert waited for it): answer its record.
      return { release: toRelease((await run<ReleaseRow>(pool, S.getRelease, r.id)).rows[0]!), created: false };
    },
    getRelease: async (id) => {
      open();
      const row = (await run<ReleaseRow>(pool, S.getRelease, id)).rows[0];
      return row ? toRelease(row) : undefined;
    },
    listReleases: async () => {
      open();
      return (await run<ReleaseRow>(pool, S.listReleases)).rows.map(toRelease);
    },
    resolveRelease: async (ref) => {
      open();
      const rows = [...(await run<ReleaseRow>(pool, S.releasesByVersion, ref)).rows, ...(isReleasePrefix(ref) ? (await run<ReleaseRow>(pool, S.releasesByPrefix, ref)).rows : [])];
      return decideReleaseRef(ref, rows.map(toRelease));
    },
    rolloutsUsingRelease: async (id) => {
      open();
      return (await run<{ id: string; state: string; created_at: number }>(pool, S.rolloutsUsingRelease, id)).rows.map((r) => ({ id: r.id, state: r.state, createdAt: r.created_at }));
    },
    nextCounter: async (name) => {
      open();
      return (await run<{ value: number }>(pool, S.bumpCounter, name)).rows[0]!.value;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      for (const feed of [...feeds]) await feed.close();
      await pool.end();
    },
  };
}
