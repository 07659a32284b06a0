// Versioned schema migrations of the PostgreSQL store; the table swarm_schema records how far a database got.
// The schema means what the SQLite one means (controller/store/migrations.ts), in PostgreSQL's own types: bigint for
// millisecond times, jsonb where SQLite keeps JSON text, boolean for flags. Identifiers sort bytewise (COLLATE "C"),
// as SQLite's do, whatever the database's locale.

/** Append only: never edit a migration that has shipped. Version N is MIGRATIONS[N - 1]. */
export const PG_MIGRATIONS: readonly string[] = [
  // 1: the whole schema of SQLite migrations 1-4 (hosts, tokens, certificates with key hashes, reports, the
  // append-only audit log, counters, rollouts with their hosts and events, releases).
  `
  CREATE TABLE hosts (
    name text COLLATE "C" PRIMARY KEY,
    address text,
    labels jsonb NOT NULL DEFAULT '{}',
    created_at bigint NOT NULL,
    enrolled_at bigint,
    removed_at bigint
  );
  CREATE TABLE join_tokens (
    hash text COLLATE "C" PRIMARY KEY,
    host_name text COLLATE "C" NOT NULL REFERENCES hosts(name) ON DELETE CASCADE,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    used_at bigint
  );
  CREATE INDEX join_tokens_host ON join_tokens(host_name);
  CREATE TABLE certificates (
    serial text COLLATE "C" PRIMARY KEY,
    role text COLLATE "C" NOT NULL CHECK (role IN ('controller', 'updater', 'agent', 'operator')),
    name text COLLATE "C" NOT NULL,
    not_before bigint NOT NULL,
    not_after bigint NOT NULL,
    issued_at bigint NOT NULL,
    revoked_at bigint,
    key_sha256 text COLLATE "C"
  );
  CREATE INDEX certificates_identity ON certificates(role, name);
  CREATE INDEX certificates_key ON certificates(key_sha256);
  CREATE INDEX certificates_revoked ON certificates(revoked_at) WHERE revoked_at IS NOT NULL;
  CREATE TABLE host_reports (
    host_name text COLLATE "C" PRIMARY KEY REFERENCES hosts(name) ON DELETE CASCADE,
    last_contact bigint,
    agent jsonb,
    updater jsonb
  );
  CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at bigint NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    details jsonb NOT NULL DEFAULT '{}'
  );
  CREATE FUNCTION swarm_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'audit_log is append-only'; END
  $$;
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION swarm_audit_log_append_only();
  CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION swarm_audit_log_append_only();
  CREATE TABLE counters (name text COLLATE "C" PRIMARY KEY, value bigint NOT NULL);
  CREATE TABLE rollouts (
    id text COLLATE "C" PRIMARY KEY,
    release_id text COLLATE "C" NOT NULL,
    version text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('agent', 'updater')),
    state text NOT NULL CHECK (state IN ('pending', 'canary', 'rolling', 'paused', 'done', 'aborted')),
    reason text CHECK (reason IN ('canary-failed', 'budget-exceeded', 'operator', 'rollback')),
    strategy jsonb NOT NULL,
    budget integer NOT NULL,
    current_wave integer NOT NULL,
    wave_count integer NOT NULL,
    wave_ended_at bigint,
    canary_accepted boolean NOT NULL DEFAULT false,
    created_by text NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    ended_at bigint
  );
  CREATE INDEX rollouts_release ON rollouts(release_id);
  CREATE INDEX rollouts_state ON rollouts(state);
  CREATE TABLE rollout_hosts (
    rollout_id text COLLATE "C" NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,
    name text COLLATE "C" NOT NULL,
    wave integer NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'pushing', 'succeeded', 'rolled-back', 'failed', 'unreachable', 'skipped')),
    error jsonb,
    from_release text,
    push_started_at bigint,
    started_at bigint,
    ended_at bigint,
    PRIMARY KEY (rollout_id, name)
  );
  CREATE INDEX rollout_hosts_pushing ON rollout_hosts(state) WHERE state = 'pushing';
  CREATE TABLE rollout_events (
    rollout_id text COLLATE "C" NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,
    seq integer NOT NULL,
    at bigint NOT NULL,
    type text NOT NULL,
    host text,
    wave integer,
    actor text,
    reason text,
    message text NOT NULL,
    PRIMARY KEY (rollout_id, seq)
  );
  CREATE TABLE releases (
    id text COLLATE "C" PRIMARY KEY,
    name text NOT NULL,
    version text COLLATE "C" NOT NULL,
    size bigint NOT NULL,
    signature text,
    uploaded_by text NOT NULL,
    uploaded_at bigint NOT NULL
  );
  CREATE INDEX releases_version ON releases(version);
  CREATE INDEX releases_uploaded ON releases(uploaded_at);
  `,
  // 2: one driver per rollout (SQLite migration 5): who holds each rollout's lease, until when, and its fencing token,
  // which only grows (the row stays when the lease is released).
  `
  CREATE TABLE rollout_leases (
    rollout_id text COLLATE "C" PRIMARY KEY REFERENCES rollouts(id) ON DELETE CASCADE,
    holder text,
    token bigint NOT NULL,
    expires_at bigint NOT NULL
  );
  `,
  // 3: replicas (SQLite migration 6): which controller process is alive until when (its own clock), the channels each
  // holds (so every replica sees a host online whose channel is on another). Revoked serials found by time (the periodic
  // re-read behind LISTEN/NOTIFY) use certificates_revoked from version 1.
  `
  CREATE TABLE controller_replicas (
    id text COLLATE "C" PRIMARY KEY,
    seen_at bigint NOT NULL
  );
  CREATE TABLE channel_presence (
    replica text COLLATE "C" NOT NULL REFERENCES controller_replicas(id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('agent', 'updater')),
    host_name text COLLATE "C" NOT NULL,
    PRIMARY KEY (replica, role, host_name)
  );
  `,
  // 4: release bytes in the database, so every replica can stream every release (docs/high-availability.md). An
  // upload stages a blob (release_blobs row, chunks appended as they arrive); the release record names the blob
  // (releases.blob_id) only once all of it is in and verified, in the transaction that writes the record. A staged
  // blob no record names is invisible to readers, dropped when its upload fails, and swept when its controller died.
  `
  CREATE TABLE release_blobs (
    id text COLLATE "C" PRIMARY KEY,
    release_id text COLLATE "C" NOT NULL,
    started_at bigint NOT NULL
  );
  CREATE INDEX release_blobs_started ON release_blobs(started_at);
  CREATE TABLE release_chunks (
    blob_id text COLLATE "C" NOT NULL REFERENCES release_blobs(id) ON DELETE CASCADE,
    seq integer NOT NULL CHECK (seq >= 0),
    data bytea NOT NULL,
    PRIMARY KEY (blob_id, seq)
  );
  ALTER TABLE release_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
  ALTER TABLE releases ADD COLUMN blob_id text COLLATE "C" REFERENCES release_blobs(id);
  CREATE INDEX releases_blob ON releases(blob_id) WHERE blob_id IS NOT NULL;
  `,
];
