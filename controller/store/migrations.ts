// Versioned schema migrations of the SQLite store; PRAGMA user_version records how far a database got.

/** Append only: never edit a migration that has shipped. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE hosts (
    name TEXT PRIMARY KEY,
    address TEXT,
    labels TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    enrolled_at INTEGER,
    removed_at INTEGER
  );
  CREATE TABLE join_tokens (
    hash TEXT PRIMARY KEY,
    host_name TEXT NOT NULL REFERENCES hosts(name) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
  );
  CREATE INDEX join_tokens_host ON join_tokens(host_name);
  CREATE TABLE certificates (
    serial TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('controller', 'updater', 'agent', 'operator')),
    name TEXT NOT NULL,
    not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE INDEX certificates_identity ON certificates(role, name);
  CREATE TABLE host_reports (
    host_name TEXT PRIMARY KEY REFERENCES hosts(name) ON DELETE CASCADE,
    last_contact INTEGER,
    agent TEXT,
    updater TEXT
  );
  CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}'
  );
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  `,
  // 2: the SHA-256 of each certificate's public key (SPKI DER), so a renewal can prove its key is fresh:
  // never certified before, for this identity or any other (older rows have none).
  `
  ALTER TABLE certificates ADD COLUMN key_sha256 TEXT;
  CREATE INDEX certificates_key ON certificates(key_sha256);
  `,
  // 3: rollouts, their hosts and their event log (DESIGN.md §6): every transition is a row change here before it
  // takes effect, so a restarted controller resumes from these alone.
  `
  CREATE TABLE rollouts (
    id TEXT PRIMARY KEY,
    release_id TEXT NOT NULL,
    version TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('agent', 'updater')),
    state TEXT NOT NULL CHECK (state IN ('pending', 'canary', 'rolling', 'paused', 'done', 'aborted')),
    reason TEXT CHECK (reason IN ('canary-failed', 'budget-exceeded', 'operator', 'rollback')),
    strategy TEXT NOT NULL,
    budget INTEGER NOT NULL,
    current_wave INTEGER NOT NULL,
    wave_count INTEGER NOT NULL,
    wave_ended_at INTEGER,
    canary_accepted INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    ended_at INTEGER
  );
  CREATE INDEX rollouts_release ON rollouts(release_id);
  CREATE INDEX rollouts_state ON rollouts(state);
  CREATE TABLE rollout_hosts (
    rollout_id TEXT NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    wave INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'pushing', 'succeeded', 'rolled-back', 'failed', 'unreachable', 'skipped')),
    error TEXT,
    from_release TEXT,
    push_started_at INTEGER,
    started_at INTEGER,
    ended_at INTEGER,
    PRIMARY KEY (rollout_id, name)
  );
  CREATE INDEX rollout_hosts_pushing ON rollout_hosts(state) WHERE state = 'pushing';
  CREATE TABLE rollout_events (
    rollout_id TEXT NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    type TEXT NOT NULL,
    host TEXT,
    wave INTEGER,
    actor TEXT,
    reason TEXT,
    message TEXT NOT NULL,
    PRIMARY KEY (rollout_id, seq)
  );
  `,
  // 4: releases, stored once by id (the SHA-256 of the tarball); the blob itself lives in <state-dir>/releases/.
  `
  CREATE TABLE releases (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    size INTEGER NOT NULL,
    signature TEXT,
    uploaded_by TEXT NOT NULL,
    uploaded_at INTEGER NOT NULL
  );
  CREATE INDEX releases_version ON releases(version);
  CREATE INDEX releases_uploaded ON releases(uploaded_at);
  `,
  // 5: one driver per rollout (DESIGN.md §9): who holds each rollout's lease, until when, and its fencing token, which
  // only grows (the row stays when the lease is released).
  `
  CREATE TABLE rollout_leases (
    rollout_id TEXT PRIMARY KEY REFERENCES rollouts(id) ON DELETE CASCADE,
    holder TEXT,
    token INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  `,
  // 6: replicas (PostgreSQL migration 3; SQLite has one controller, the tables keep the engines alike): which controller
  // process is alive until when, the channels each holds, and revoked serials found by time.
  `
  CREATE TABLE controller_replicas (
    id TEXT PRIMARY KEY,
    seen_at INTEGER NOT NULL
  );
  CREATE TABLE channel_presence (
    replica TEXT NOT NULL REFERENCES controller_replicas(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('agent', 'updater')),
    host_name TEXT NOT NULL,
    PRIMARY KEY (replica, role, host_name)
  );
  CREATE INDEX certificates_revoked ON certificates(revoked_at) WHERE revoked_at IS NOT NULL;
  `,
];
