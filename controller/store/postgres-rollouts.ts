// The PostgreSQL tables of rollouts, their hosts and event logs. A transition locks its rollout's row
// (SELECT ... FOR UPDATE) and changes a host only by a conditional UPDATE (state = ANY($n)) whose row count decides:
// of concurrent transitions from any number of replicas exactly one moves a host from pending to pushing, and the
// event numbers of a rollout never collide. A driver's transition also reads its rollout's lease row FOR SHARE: a grant
// to another replica (which updates that row) waits for it or is seen by it, so a stale token never writes.
import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { inTransaction, PG_JSON, pgStatement, Rollback, run, type PgStatement } from './postgres-kit.js';
import { columnsToSet, rolloutColumns, rolloutRowValues, rowMappers, type EventRow, type LeaseRow, type RolloutHostRow, type RolloutRow } from './rows.js';
import type { NewRolloutEvent, RolloutChange, RolloutChangeResult, RolloutEventRecord, RolloutHostRecord, RolloutRecord, Store } from './store.js';

const { toRollout, toRolloutHost, toEvent, toLease } = rowMappers(PG_JSON);
const COLUMNS = rolloutColumns(PG_JSON);

const S = {
  insertRollout: pgStatement('insert_rollout', `INSERT INTO rollouts (id, release_id, version, kind, state, reason, strategy, budget, current_wave, wave_count,
    wave_ended_at, canary_accepted, created_by, created_at, updated_at, ended_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`),
  // All of a rollout's hosts in one statement, as arrays.
  insertHosts: pgStatement('insert_rollout_hosts', `INSERT INTO rollout_hosts (rollout_id, name, wave, state, error, from_release, push_started_at, started_at, ended_at)
    SELECT $1, * FROM unnest($2::text[], $3::integer[], $4::text[], $5::jsonb[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[])`),
  insertEvents: pgStatement('insert_rollout_events', `INSERT INTO rollout_events (rollout_id, seq, at, type, host, wave, actor, reason, message)
    SELECT $1, * FROM unnest($2::integer[], $3::bigint[], $4::text[], $5::text[], $6::integer[], $7::text[], $8::text[], $9::text[])`),
  lastSeq: pgStatement('rollout_last_seq', 'SELECT COALESCE(MAX(seq), 0) AS seq FROM rollout_events WHERE rollout_id = $1'),
  getRollout: pgStatement('get_rollout', 'SELECT * FROM rollouts WHERE id = $1'),
  lockRollout: pgStatement('lock_rollout', 'SELECT * FROM rollouts WHERE id = $1 FOR UPDATE'),
  listRollouts: pgStatement('list_rollouts', 'SELECT * FROM rollouts ORDER BY created_at DESC, id DESC LIMIT $1'),
  listUnsettled: pgStatement('list_unsettled_rollouts', `SELECT * FROM rollouts WHERE state NOT IN ('done', 'aborted')
    OR id IN (SELECT rollout_id FROM rollout_hosts WHERE state = 'pushing') ORDER BY created_at, id`),
  touchHost: pgStatement('touch_rollout_host', 'UPDATE rollout_hosts SET state = state WHERE rollout_id = $1 AND name = $2 AND state = ANY($3::text[])'),
  listHosts: pgStatement('list_rollout_hosts', 'SELECT * FROM rollout_hosts WHERE rollout_id = $1 ORDER BY wave, name'),
  listEvents: pgStatement('list_rollout_events', 'SELECT * FROM rollout_events WHERE rollout_id = $1 AND seq > $2 ORDER BY seq LIMIT $3'),
  // One statement: a lease is granted when free, expired (or $5, evenIfHeld), and the token counts on from the row's.
  // Concurrent grants of a new row: one inserts, the others wait for it and then find it held.
  acquireLease: pgStatement('acquire_rollout_lease', `INSERT INTO rollout_leases (rollout_id, holder, token, expires_at)
    SELECT $1::text, $2::text, 1, $3::bigint WHERE EXISTS (SELECT 1 FROM rollouts WHERE id = $1::text)
    ON CONFLICT (rollout_id) DO UPDATE SET holder = excluded.holder, token = rollout_leases.token + 1, expires_at = excluded.expires_at
    WHERE rollout_leases.holder IS NULL OR rollout_leases.expires_at <= $4::bigint OR $5::boolean RETURNING token`),
  renewLease: pgStatement('renew_rollout_lease', 'UPDATE rollout_leases SET expires_at = $1 WHERE rollout_id = $2 AND holder = $3 AND token = $4'),
  releaseLease: pgStatement('release_rollout_lease', 'UPDATE rollout_leases SET holder = NULL, expires_at = 0 WHERE rollout_id = $1 AND holder = $2 AND token = $3'),
  getLease: pgStatement('get_rollout_lease', 'SELECT * FROM rollout_leases WHERE rollout_id = $1'),
  shareLease: pgStatement('share_rollout_lease', 'SELECT * FROM rollout_leases WHERE rollout_id = $1 FOR SHARE'),
};

/** One named statement per set of columns (a transition's `set`), made once: `UPDATE table SET a = $1, ... WHERE key`. */
const updates = new Map<string, PgStatement>();
function updateStatement(table: string, columns: readonly string[], where: (next: number) => string): PgStatement {
  const sql = `UPDATE ${table} SET ${columns.map((c, i) => `${c} = $${i + 1}`).join(', ')} WHERE ${where(columns.length + 1)}`;
  let st = updates.get(sql);
  if (!st) updates.set(sql, (st = pgStatement(`update_${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`, sql)));
  return st;
}

async function appendEvents(c: PoolClient, rolloutId: string, events: readonly NewRolloutEvent[]): Promise<RolloutEventRecord[]> {
  if (events.length === 0) return [];
  // The rollout's row is locked (or new) in this transaction: no one else numbers its events now.
  const first = (await run<{ seq: number }>(c, S.lastSeq, rolloutId)).rows[0]!.seq + 1;
  const records = events.map((e, i) => ({ ...e, rolloutId, seq: first + i }));
  const col = <K extends keyof RolloutEventRecord>(k: K) => records.map((r) => r[k]);
  await run(c, S.insertEvents, rolloutId, col('seq'), col('at'), col('type'), col('host'), col('wave'), col('actor'), col('reason'), col('message'));
  return records;
}

type RolloutMethods = Pick<Store, 'createRollout' | 'getRollout' | 'listRollouts' | 'listRolloutHosts' | 'listRolloutEvents' | 'changeRollout'
  | 'acquireRolloutLease' | 'renewRolloutLease' | 'releaseRolloutLease' | 'getRolloutLease'>;

export function openPgRolloutTables(pool: Pool): { methods(open: () => void): RolloutMethods } {
  const create = (r: RolloutRecord, hosts: readonly RolloutHostRecord[], events: readonly NewRolloutEvent[]) => inTransaction(pool, async (c) => {
    const v = rolloutRowValues(r, PG_JSON);
    await run(c, S.insertRollout, v.id, v.release_id, v.version, v.kind, v.state, v.reason, v.strategy, v.budget, v.current_wave, v.wave_count,
      v.wave_ended_at, v.canary_accepted, v.created_by, v.created_at, v.updated_at, v.ended_at);
    if (hosts.length > 0) {
      const col = <T>(f: (h: RolloutHostRecord) => T) => hosts.map(f);
      await run(c, S.insertHosts, r.id, col((h) => h.name), col((h) => h.wave), col((h) => h.state), col((h) => (h.error ? PG_JSON.encode(h.error) : null)),
        col((h) => h.from), col((h) => h.pushStartedAt), col((h) => h.startedAt), col((h) => h.endedAt));
    }
    return appendEvents(c, r.id, events);
  });

  const change = (ch: RolloutChange): Promise<RolloutChangeResult> => inTransaction(pool, async (c): Promise<RolloutChangeResult> => {
    const row = (await run<RolloutRow>(c, S.lockRollout, ch.rolloutId)).rows[0];
    if (!row) return { ok: false, reason: 'not-found' };
    const current = toRollout(row);
    if (ch.fence) {
      const lease = (await run<LeaseRow>(c, S.shareLease, ch.rolloutId)).rows[0];
      if (!lease || lease.holder !== ch.fence.holder || lease.token !== ch.fence.token) return { ok: false, reason: 'fenced', rollout: current };
    }
    if (ch.rollout?.whenState && !ch.rollout.whenState.includes(current.state)) return { ok: false, reason: 'rollout-state', rollout: current };
    if (ch.host) {
      // The host changes only while it is in one of whenState: the row count says whether it was.
      const set = columnsToSet(COLUMNS.host, ch.host.set);
      const whenState = [...ch.host.whenState];
      const changed = set.length === 0
        ? await run(c, S.touchHost, ch.rolloutId, ch.host.name, whenState)
        : await run(c, updateStatement('rollout_hosts', set.map(([col]) => col), (n) => `rollout_id = $${n} AND name = $${n + 1} AND state = ANY($${n + 2}::text[])`),
          ...set.map(([, v]) => v), ch.rolloutId, ch.host.name, whenState);
      if (changed.rowCount !== 1) throw new Rollback<RolloutChangeResult>({ ok: false, reason: 'host-state', rollout: current });
    }
    const set = columnsToSet(COLUMNS.rollout, { ...ch.rollout?.set, updatedAt: ch.at });
    const updated = (await run<RolloutRow>(c, updateStatement('rollouts', set.map(([col]) => col), (n) => `id = $${n} RETURNING *`), ...set.map(([, v]) => v), ch.rolloutId)).rows[0]!;
    const events = await appendEvents(c, ch.rolloutId, ch.events);
    return { ok: true, rollout: toRollout(updated), events };
  });

  return {
    methods: (open) => ({
      createRollout: async (r, hosts, events) => {
        open();
        return create(r, hosts, events);
      },
      getRollout: async (id) => {
        open();
        const row = (await run<RolloutRow>(pool, S.getRollout, id)).rows[0];
        return row ? toRollout(row) : undefined;
      },
      listRollouts: async (filter = {}) => {
        open();
        const rows = filter.unsettled ? (await run<RolloutRow>(pool, S.listUnsettled)).rows : (await run<RolloutRow>(pool, S.listRollouts, filter.limit ?? 1000)).rows;
        return rows.map(toRollout);
      },
      listRolloutHosts: async (rolloutId) => {
        open();
        return (await run<RolloutHostRow>(pool, S.listHosts, rolloutId)).rows.map(toRolloutHost);
      },
      listRolloutEvents: async (rolloutId, options = {}) => {
        open();
        return (await run<EventRow>(pool, S.listEvents, rolloutId, options.afterSeq ?? 0, options.limit ?? 10_000)).rows.map(toEvent);
      },
      changeRollout: async (c) => {
        open();
        return change(c);
      },
      acquireRolloutLease: async (id, holder, now, ttl, options = {}) => {
        open();
        const row = (await run<{ token: number }>(pool, S.acquireLease, id, holder, now + ttl, now, options.evenIfHeld === true)).rows[0];
        return row ? { token: row.token } : null;
      },
      renewRolloutLease: async (id, holder, token, now, ttl) => {
        open();
        return (await run(pool, S.renewLease, now + ttl, id, holder, token)).rowCount === 1;
      },
      releaseRolloutLease: async (id, holder, token) => {
        open();
        return (await run(pool, S.releaseLease, id, holder, token)).rowCount === 1;
      },
      getRolloutLease: async (id) => {
        open();
        const row = (await run<LeaseRow>(pool, S.getLease, id)).rows[0];
        return row ? toLease(row) : undefined;
      },
    }),
  };
}
