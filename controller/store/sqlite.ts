// The SQLite store engine (better-sqlite3): WAL, foreign keys, migrations, statements prepared once; synchronous
// underneath, each method a transaction that completes before its promise settles.
import Database from 'better-sqlite3';
import { chmodSync, statSync } from 'node:fs';
import type { Role } from '../../shared/identity.js';
import { controllerError } from '../errors.js';
import { decideReleaseRef, isReleasePrefix } from '../releases/ref.js';
import { serialsRetiredByRenewal } from '../supersede.js';
import { applyLabelChange } from './label-change.js';
import { MIGRATIONS } from './migrations.js';
import type {
  CertificateRecord, ChannelPresenceKey, HostRecord, HostReportRecord, IssueGuard, IssueRefusal, JoinTokenRecord, LabelChange, ReleaseRecord, Store, TokenRefusal,
} from './store.js';
import { rowMappers, TEXT_JSON, type AuditRow, type CertRow, type HostRow, type ReleaseRow, type ReportRow, type TokenRow } from './rows.js';
import { openRolloutTables } from './sqlite-rollouts.js';

const { toHost, toCert, toAudit, toRelease, toReport, toPendingToken } = rowMappers(TEXT_JSON);

/** Apply pending migrations in one transaction each; refuse a database from a newer controller. */
function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw controllerError('SWARM_ERR_STORE', `database schema version ${current} is newer than this controller knows (${MIGRATIONS.length}); upgrade swarm-controller`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/**
 * The database holds hosts, addresses and the audit log: 0600, whatever the umask. SQLite creates its -wal and
 * -shm files with the database file's mode, so narrowing the database narrows them too; existing ones (and a
 * database made by an older init) are narrowed here. Files of another owner are left to the state-dir check.
 */
function narrowDatabaseModes(path: string): void {
  const self = process.getuid?.();
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      const st = statSync(file);
      if ((st.mode & 0o077) !== 0 && (self === undefined || self === 0 || st.uid === self)) chmodSync(file, st.mode & 0o700);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

export function openSqliteStore(path: string): Store {
  let db: Database.Database;
  // Synchronous from here to the restore: no other code runs while the umask is narrowed.
  const umask = process.umask(0o077);
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
    narrowDatabaseModes(path);
  } catch (err) {
    if ((err as { code?: string }).code === 'SWARM_ERR_STORE') throw err;
    throw controllerError('SWARM_ERR_STORE', `cannot open database ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    process.umask(umask);
  }

  const s = {
    insertHost: db.prepare('INSERT INTO hosts (name, address, labels, created_at) VALUES (?, ?, ?, ?)'),
    reviveHost: db.prepare('UPDATE hosts SET address = ?, labels = ?, created_at = ?, enrolled_at = NULL, removed_at = NULL WHERE name = ?'),
    getHost: db.prepare<[string], HostRow>('SELECT * FROM hosts WHERE name = ?'),
    listHosts: db.prepare<[], HostRow>('SELECT * FROM hosts WHERE removed_at IS NULL ORDER BY name'),
    setLabels: db.prepare('UPDATE hosts SET labels = ? WHERE name = ?'),
    setAddress: db.prepare('UPDATE hosts SET address = ? WHERE name = ?'),
    removeHost: db.prepare('UPDATE hosts SET removed_at = ? WHERE name = ? AND removed_at IS NULL'),
    deleteReport: db.prepare('DELETE FROM host_reports WHERE host_name = ?'),
    enrollHost: db.prepare('UPDATE hosts SET enrolled_at = ? WHERE name = ?'),
    insertToken: db.prepare('INSERT INTO join_tokens (hash, host_name, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?)'),
    deleteUnusedTokens: db.prepare('DELETE FROM join_tokens WHERE host_name = ? AND used_at IS NULL'),
    getToken: db.prepare<[string], TokenRow>('SELECT * FROM join_tokens WHERE hash = ?'),
    pendingTokens: db.prepare<[number], TokenRow>('SELECT * FROM join_tokens WHERE used_at IS NULL AND expires_at > ? ORDER BY created_at, host_name'),
    useToken: db.prepare('UPDATE join_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL'),
    insertCert: db.prepare('INSERT INTO certificates (serial, role, name, not_before, not_after, issued_at, key_sha256) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    certsByKey: db.prepare<[string], CertRow>('SELECT * FROM certificates WHERE key_sha256 = ? ORDER BY issued_at, serial'),
    getCert: db.prepare<[string], CertRow>('SELECT * FROM certificates WHERE serial = ?'),
    listCerts: db.prepare<[], CertRow>('SELECT * FROM certificates ORDER BY issued_at, serial'),
    listCertsByRole: db.prepare<[string], CertRow>('SELECT * FROM certificates WHERE role = ? ORDER BY issued_at, serial'),
    listCertsByIdentity: db.prepare<[string, string], CertRow>('SELECT * FROM certificates WHERE role = ? AND name = ? ORDER BY issued_at, serial'),
    activeSerials: db.prepare<[string, string], { serial: string }>('SELECT serial FROM certificates WHERE role = ? AND name = ? AND revoked_at IS NULL'),
    revoke: db.prepare('UPDATE certificates SET revoked_at = ? WHERE serial = ?'),
    revokeIfActive: db.prepare('UPDATE certificates SET revoked_at = ? WHERE serial = ? AND revoked_at IS NULL'),
    listRevoked: db.prepare<[], { serial: string; revoked_at: number }>('SELECT serial, revoked_at FROM certificates WHERE revoked_at IS NOT NULL ORDER BY revoked_at, serial'),
    listRevokedSince: db.prepare<[number], { serial: string; revoked_at: number }>('SELECT serial, revoked_at FROM certificates WHERE revoked_at IS NOT NULL AND revoked_at >= ? ORDER BY revoked_at, serial'),
    replicaKnown: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM controller_replicas WHERE id = ?'),
    seeReplica: db.prepare('INSERT INTO controller_replicas (id, seen_at) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET seen_at = excluded.seen_at'),
    reapReplicas: db.prepare('DELETE FROM controller_replicas WHERE seen_at < ?'),
    dropReplica: db.prepare('DELETE FROM controller_replicas WHERE id = ?'),
    openChannel: db.prepare('INSERT INTO channel_presence (replica, role, host_name) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    closeChannel: db.prepare('DELETE FROM channel_presence WHERE replica = ? AND role = ? AND host_name = ?'),
    listPresence: db.prepare<[number], { replica: string; role: 'agent' | 'updater'; host_name: string }>(
      'SELECT p.replica, p.role, p.host_name FROM channel_presence p JOIN controller_replicas r ON r.id = p.replica WHERE r.seen_at >= ? ORDER BY p.host_name, p.role, p.replica'),
    upsertReport: db.prepare('INSERT INTO host_reports (host_name, last_contact, agent, updater) VALUES (?, ?, ?, ?) ON CONFLICT(host_name) DO UPDATE SET last_contact = excluded.last_contact, agent = excluded.agent, updater = excluded.updater'),
    listReports: db.prepare<[], ReportRow>('SELECT r.* FROM host_reports r JOIN hosts h ON h.name = r.host_name WHERE h.removed_at IS NULL'),
    appendAudit: db.prepare('INSERT INTO audit_log (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)'),
    listAudit: db.prepare<[number, number, number], AuditRow>('SELECT * FROM audit_log WHERE id > ? AND at >= ? ORDER BY id LIMIT ?'),
    listAuditDesc: db.prepare<[number, number, number], AuditRow>('SELECT * FROM audit_log WHERE id > ? AND at >= ? ORDER BY id DESC LIMIT ?'),
    insertRelease: db.prepare('INSERT INTO releases (id, name, version, size, signature, uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING'),
    getRelease: db.prepare<[string], ReleaseRow>('SELECT * FROM releases WHERE id = ?'),
    listReleases: db.prepare<[], ReleaseRow>('SELECT * FROM releases ORDER BY uploaded_at DESC, id'),
    releasesByVersion: db.prepare<[string], ReleaseRow>('SELECT * FROM releases WHERE version = ?'),
    releasesByPrefix: db.prepare<[string, string], ReleaseRow>('SELECT * FROM releases WHERE substr(id, 1, length(?)) = ?'),
    hasRolloutsTable: db.prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'rollouts'"),
    bumpCounter: db.prepare<[string], { value: number }>('INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value'),
  };

  const consume = db.transaction((hash: string, name: string, now: number): { ok: true } | { ok: false; reason: TokenRefusal } => {
    const token = s.getToken.get(hash);
    if (!token) return { ok: false, reason: 'unknown' };
    if (token.used_at !== null) return { ok: false, reason: 'used' };
    if (token.expires_at <= now) return { ok: false, reason: 'expired' };
    if (token.host_name !== name) return { ok: false, reason: 'name-mismatch' };
    const host = s.getHost.get(name);
    if (!host || host.removed_at !== null) return { ok: false, reason: 'host-missing' };
    if (host.enrolled_at !== null) return { ok: false, reason: 'host-enrolled' };
    if (s.useToken.run(now, hash).changes !== 1) return { ok: false, reason: 'used' };
    s.enrollHost.run(now, name);
    return { ok: true };
  });

  const markHostRemoved = db.transaction((name: string, at: number): void => {
    s.removeHost.run(at, name);
    s.deleteReport.run(name);
  });

  const registerHost = db.transaction((h: Omit<HostRecord, 'enrolledAt' | 'removedAt'>, t: JoinTokenRecord): { ok: true } | { ok: false; reason: 'host-enrolled' } => {
    const existing = s.getHost.get(h.name);
    if (existing && existing.removed_at === null && existing.enrolled_at !== null) return { ok: false, reason: 'host-enrolled' };
    if (existing) {
      // A pending host gets a fresh token (the old ones stop working); a removed name is reopened.
      s.deleteUnusedTokens.run(h.name);
      s.reviveHost.run(h.address, JSON.stringify(h.labels), h.createdAt, h.name);
    } else {
      s.insertHost.run(h.name, h.address, JSON.stringify(h.labels), h.createdAt);
    }
    s.insertToken.run(t.hash, t.hostName, t.createdAt, t.expiresAt, t.usedAt);
    return { ok: true };
  });

  const removeHost = db.transaction((name: string, at: number): boolean => {
    if (s.removeHost.run(at, name).changes !== 1) return false;
    s.deleteReport.run(name);
    s.deleteUnusedTokens.run(name);
    return true;
  });

  const changeHostLabels = db.transaction((name: string, change: LabelChange): HostRecord | undefined => {
    const row = s.getHost.get(name);
    if (!row || row.removed_at !== null) return undefined;
    const host = toHost(row);
    const labels = applyLabelChange(host.labels, change);
    s.setLabels.run(JSON.stringify(labels), name);
    return { ...host, labels };
  });

  const recordIssued = db.transaction((c: Omit<CertificateRecord, 'revokedAt'>, guard: IssueGuard): { ok: true; retired: string[] } | { ok: false; reason: IssueRefusal } => {
    if (guard.host) {
      const host = s.getHost.get(c.name);
      if (!host || host.removed_at !== null || (guard.host === 'enrolled' && host.enrolled_at === null)) return { ok: false, reason: 'host-missing' };
    }
    if (guard.vacantAt !== undefined) {
      const at = guard.vacantAt;
      if (s.listCertsByIdentity.all(c.role, c.name).some((r) => r.revoked_at === null && r.not_after > at)) return { ok: false, reason: 'identity-held' };
    }
    if (guard.renewing !== undefined) {
      const presenting = s.getCert.get(guard.renewing);
      if (!presenting || presenting.revoked_at !== null || presenting.role !== c.role || presenting.name !== c.name) return { ok: false, reason: 'certificate-revoked' };
      if (c.keySha256 && s.certsByKey.all(c.keySha256).length > 0) return { ok: false, reason: 'key-known' };
    }
    s.insertCert.run(c.serial, c.role, c.name, c.notBefore, c.notAfter, c.issuedAt, c.keySha256 ?? null);
    if (guard.renewing === undefined) return { ok: true, retired: [] };
    const retired = serialsRetiredByRenewal(s.listCertsByIdentity.all(c.role, c.name).map(toCert), guard.renewing, c.serial);
    for (const serial of retired) s.revoke.run(c.issuedAt, serial);
    return { ok: true, retired };
  });

  const listRevoked = (sinceMs?: number): Array<{ serial: string; revokedAt: number }> =>
    (sinceMs === undefined ? s.listRevoked.all() : s.listRevokedSince.all(sinceMs)).map((r) => ({ serial: r.serial, revokedAt: r.revoked_at }));
  const nextCrl = db.transaction(() => ({ number: s.bumpCounter.get('crl')!.value, revoked: listRevoked() }));

  const revokeIdentity = db.transaction((role: Role, name: string, at: number): string[] => {
    const serials = s.activeSerials.all(role, name).map((r) => r.serial);
    for (const serial of serials) s.revoke.run(at, serial);
    return serials;
  });

  const savePresence = db.transaction((replica: string, now: number, change: { opened: readonly ChannelPresenceKey[]; closed: readonly ChannelPresenceKey[] }, reapBefore: number) => {
    const known = s.replicaKnown.get(replica)!.n > 0;
    s.seeReplica.run(replica, now);
    for (const c of change.closed) s.closeChannel.run(replica, c.role, c.hostName);
    for (const c of change.opened) s.openChannel.run(replica, c.role, c.hostName);
    s.reapReplicas.run(reapBefore);
    return { known };
  });

  const revokeSerials = db.transaction((serials: readonly string[], at: number): string[] => serials.filter((serial) => s.revokeIfActive.run(at, serial).changes === 1));

  const saveReports = db.transaction((reports: HostReportRecord[]) => {
    for (const r of reports) {
      s.upsertReport.run(r.hostName, r.lastContact, r.agent ? JSON.stringify(r.agent) : null, r.updater ? JSON.stringify(r.updater) : null);
    }
  });

  const insertRelease = db.transaction((r: ReleaseRecord): { release: ReleaseRecord; created: boolean } => {
    const created = s.insertRelease.run(r.id, r.name, r.version, r.size, r.signature, r.uploadedBy, r.uploadedAt).changes === 1;
    return { release: toRelease(s.getRelease.get(r.id)!), created };
  });

  const resolveRelease = (ref: string) => {
    const rows = [...s.releasesByVersion.all(ref), ...(isReleasePrefix(ref) ? s.releasesByPrefix.all(ref, ref) : [])];
    return decideReleaseRef(ref, rows.map(toRelease));
  };

  // The rollouts table comes with the rollout engine's migration; until it exists no rollout used any release.
  const rolloutsUsingRelease = (id: string): Array<{ id: string; state: string; createdAt: number }> => {
    if (s.hasRolloutsTable.get()!.n === 0) return [];
    return db.prepare<[string], { id: string; state: string; created_at: number }>('SELECT id, state, created_at FROM rollouts WHERE release_id = ? ORDER BY created_at DESC, id')
      .all(id).map((r) => ({ id: r.id, state: r.state, createdAt: r.created_at }));
  };

  let closed = false;
  /** Every method is async: an engine error or a use after close() is a rejection, never a synchronous throw. */
  const open = (): void => {
    if (closed) throw controllerError('SWARM_ERR_STORE', 'the store is closed');
  };

  const rollouts = openRolloutTables(db);

  return {
    engine: 'sqlite',
    ...rollouts.methods(open),
    insertHost: async (h) => {
      open();
      s.insertHost.run(h.name, h.address, JSON.stringify(h.labels), h.createdAt);
    },
    reviveHost: async (h) => {
      open();
      s.reviveHost.run(h.address, JSON.stringify(h.labels), h.createdAt, h.name);
    },
    getHost: async (name) => {
      open();
      const row = s.getHost.get(name);
      return row ? toHost(row) : undefined;
    },
    listHosts: async () => {
      open();
      return s.listHosts.all().map(toHost);
    },
    setHostLabels: async (name, labels) => {
      open();
      s.setLabels.run(JSON.stringify(labels), name);
    },
    setHostAddress: async (name, address) => {
      open();
      s.setAddress.run(address, name);
    },
    // Its reports go with it: a name re-added later is a new host, not the old one's last words.
    markHostRemoved: async (name, at) => {
      open();
      markHostRemoved.immediate(name, at);
    },
    registerHost: async (h, t) => {
      open();
      return registerHost.immediate(h, t);
    },
    removeHost: async (name, at) => {
      open();
      return removeHost.immediate(name, at);
    },
    changeHostLabels: async (name, change) => {
      open();
      return changeHostLabels.immediate(name, change);
    },
    insertJoinToken: async (t: JoinTokenRecord) => {
      open();
      s.insertToken.run(t.hash, t.hostName, t.createdAt, t.expiresAt, t.usedAt);
    },
    deleteUnusedTokens: async (hostName) => {
      open();
      return s.deleteUnusedTokens.run(hostName).changes;
    },
    listPendingTokens: async (now) => {
      open();
      return s.pendingTokens.all(now).map(toPendingToken);
    },
    consumeJoinToken: async (hash, name, now) => {
      open();
      return consume.immediate(hash, name, now);
    },
    recordCertificate: async (c) => {
      open();
      s.insertCert.run(c.serial, c.role, c.name, c.notBefore, c.notAfter, c.issuedAt, c.keySha256 ?? null);
    },
    recordIssued: async (c, guard) => {
      open();
      return recordIssued.immediate(c, guard);
    },
    getCertificate: async (serial) => {
      open();
      const row = s.getCert.get(serial);
      return row ? toCert(row) : undefined;
    },
    listCertificates: async (filter = {}) => {
      open();
      const rows = filter.role && filter.name ? s.listCertsByIdentity.all(filter.role, filter.name)
        : filter.role ? s.listCertsByRole.all(filter.role)
          : s.listCerts.all().filter((r) => filter.name === undefined || r.name === filter.name);
      return rows.map(toCert);
    },
    findCertificatesByKey: async (keySha256) => {
      open();
      return s.certsByKey.all(keySha256).map(toCert);
    },
    revokeIdentity: async (role, name, at) => {
      open();
      return revokeIdentity.immediate(role, name, at);
    },
    revokeSerials: async (serials, at) => {
      open();
      return revokeSerials.immediate(serials, at);
    },
    listRevoked: async (options = {}) => {
      open();
      return listRevoked(options.sinceMs);
    },
    // One process per SQLite database: nobody else to tell, nothing to hear.
    openRevocationFeed: async () => {
      open();
      return { publish: async () => undefined, close: async () => undefined };
    },
    savePresence: async (replica, now, change, reapBefore) => {
      open();
      return savePresence.immediate(replica, now, change, reapBefore);
    },
    listPresence: async (aliveSince) => {
      open();
      return s.listPresence.all(aliveSince).map((r) => ({ replica: r.replica, role: r.role, hostName: r.host_name }));
    },
    dropReplica: async (replica) => {
      open();
      s.dropReplica.run(replica);
    },
    nextCrl: async () => {
      open();
      return nextCrl.immediate();
    },
    saveReports: async (reports) => {
      open();
      saveReports(reports);
    },
    listReports: async () => {
      open();
      return s.listReports.all().map(toReport);
    },
    appendAudit: async (e) => {
      open();
      const info = s.appendAudit.run(e.at, e.actor, e.action, e.target, JSON.stringify(e.details));
      return { ...e, id: Number(info.lastInsertRowid) };
    },
    listAudit: async (options = {}) => {
      open();
      return (options.order === 'desc' ? s.listAuditDesc : s.listAudit).all(options.afterId ?? 0, options.sinceMs ?? 0, options.limit ?? 1000).map(toAudit);
    },
    insertRelease: async (r) => {
      open();
      return insertRelease.immediate(r);
    },
    getRelease: async (id) => {
      open();
      const row = s.getRelease.get(id);
      return row ? toRelease(row) : undefined;
    },
    listReleases: async () => {
      open();
      return s.listReleases.all().map(toRelease);
    },
    resolveRelease: async (ref) => {
      open();
      return resolveRelease(ref);
    },
    rolloutsUsingRelease: async (id) => {
      open();
      return rolloutsUsingRelease(id);
    },
    nextCounter: async (name) => {
      open();
      return s.bumpCounter.get(name)!.value;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
