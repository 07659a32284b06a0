// The SQLite tables of rollouts, their hosts, event logs and leases: each transition one immediate transaction, its
// fencing token checked inside it.
import type Database from 'better-sqlite3';
import { columnsToSet, rolloutColumns, rolloutRowValues, rowMappers, TEXT_JSON, type EventRow, type LeaseRow, type RolloutHostRow as HostRow, type RolloutRow } from './rows.js';
import type { NewRolloutEvent, RolloutChange, RolloutChangeResult, RolloutEventRecord, RolloutHostRecord, RolloutRecord, Store } from './store.js';

const { toRollout, toRolloutHost: toHost, toEvent, toLease } = rowMappers(TEXT_JSON);
const COLUMNS = rolloutColumns(TEXT_JSON);

type RolloutMethods = Pick<Store, 'createRollout' | 'getRollout' | 'listRollouts' | 'listRolloutHosts' | 'listRolloutEvents' | 'changeRollout'
  | 'acquireRolloutLease' | 'renewRolloutLease' | 'releaseRolloutLease' | 'getRolloutLease'>;

export function openRolloutTables(db: Database.Database): { methods(open: () => void): RolloutMethods } {
  const s = {
    insertRollout: db.prepare(`INSERT INTO rollouts (id, release_id, version, kind, state, reason, strategy, budget, current_wave, wave_count, wave_ended_at,
      canary_accepted, created_by, created_at, updated_at, ended_at) VALUES (@id, @release_id, @version, @kind, @state, @reason, @strategy, @budget,
      @current_wave, @wave_count, @wave_ended_at, @canary_accepted, @created_by, @created_at, @updated_at, @ended_at)`),
    insertHost: db.prepare(`INSERT INTO rollout_hosts (rollout_id, name, wave, state, error, from_release, push_started_at, started_at, ended_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    insertEvent: db.prepare('INSERT INTO rollout_events (rollout_id, seq, at, type, host, wave, actor, reason, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    lastSeq: db.prepare<[string], { seq: number | null }>('SELECT MAX(seq) AS seq FROM rollout_events WHERE rollout_id = ?'),
    getRollout: db.prepare<[string], RolloutRow>('SELECT * FROM rollouts WHERE id = ?'),
    listRollouts: db.prepare<[number], RolloutRow>('SELECT * FROM rollouts ORDER BY created_at DESC, id DESC LIMIT ?'),
    listUnsettled: db.prepare<[], RolloutRow>(`SELECT * FROM rollouts WHERE state NOT IN ('done', 'aborted')
      OR id IN (SELECT rollout_id FROM rollout_hosts WHERE state = 'pushing') ORDER BY created_at, id`),
    getHost: db.prepare<[string, string], HostRow>('SELECT * FROM rollout_hosts WHERE rollout_id = ? AND name = ?'),
    listHosts: db.prepare<[string], HostRow>('SELECT * FROM rollout_hosts WHERE rollout_id = ? ORDER BY wave, name'),
    listEvents: db.prepare<[string, number, number], EventRow>('SELECT * FROM rollout_events WHERE rollout_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
    // One statement: a lease is granted when free, expired (or evenIfHeld), and the token counts on from the row's.
    acquireLease: db.prepare<{ id: string; holder: string; expires: number; now: number; force: number }, { token: number }>(`INSERT INTO rollout_leases
      (rollout_id, holder, token, expires_at) SELECT @id, @holder, 1, @expires WHERE EXISTS (SELECT 1 FROM rollouts WHERE id = @id)
      ON CONFLICT (rollout_id) DO UPDATE SET holder = excluded.holder, token = rollout_leases.token + 1, expires_at = excluded.expires_at
      WHERE rollout_leases.holder IS NULL OR rollout_leases.expires_at <= @now OR @force = 1 RETURNING token`),
    renewLease: db.prepare('UPDATE rollout_leases SET expires_at = ? WHERE rollout_id = ? AND holder = ? AND token = ?'),
    releaseLease: db.prepare('UPDATE rollout_leases SET holder = NULL, expires_at = 0 WHERE rollout_id = ? AND holder = ? AND token = ?'),
    getLease: db.prepare<[string], LeaseRow>('SELECT * FROM rollout_leases WHERE rollout_id = ?'),
  };
  const updates = new Map<string, Database.Statement>();
  /** One statement per set of columns, prepared once. */
  const updateStatement = (table: string, key: string, columns: string[]): Database.Statement => {
    const sql = `UPDATE ${table} SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE ${key}`;
    let st = updates.get(sql);
    if (!st) updates.set(sql, (st = db.prepare(sql)));
    return st;
  };

  const appendEvents = (rolloutId: string, events: readonly NewRolloutEvent[]): RolloutEventRecord[] => {
    let seq = s.lastSeq.get(rolloutId)?.seq ?? 0;
    return events.map((e) => {
      seq++;
      s.insertEvent.run(rolloutId, seq, e.at, e.type, e.host, e.wave, e.actor, e.reason, e.message);
      return { ...e, rolloutId, seq };
    });
  };

  const create = db.transaction((r: RolloutRecord, hosts: readonly RolloutHostRecord[], events: readonly NewRolloutEvent[]): RolloutEventRecord[] => {
    s.insertRollout.run(rolloutRowValues(r, TEXT_JSON));
    for (const h of hosts) {
      s.insertHost.run(r.id, h.name, h.wave, h.state, h.error ? TEXT_JSON.encode(h.error) : null, h.from, h.pushStartedAt, h.startedAt, h.endedAt);
    }
    return appendEvents(r.id, events);
  });

  const change = db.transaction((c: RolloutChange): RolloutChangeResult => {
    const row = s.getRollout.get(c.rolloutId);
    if (!row) return { ok: false, reason: 'not-found' };
    const current = toRollout(row);
    if (c.fence) {
      const lease = s.getLease.get(c.rolloutId);
      if (!lease || lease.holder !== c.fence.holder || lease.token !== c.fence.token) return { ok: false, reason: 'fenced', rollout: current };
    }
    if (c.rollout?.whenState && !c.rollout.whenState.includes(current.state)) return { ok: false, reason: 'rollout-state', rollout: current };
    if (c.host) {
      const h = s.getHost.get(c.rolloutId, c.host.name);
      if (!h || !c.host.whenState.includes(h.state)) return { ok: false, reason: 'host-state', rollout: current };
      const set = columnsToSet(COLUMNS.host, c.host.set);
      if (set.length > 0) {
        updateStatement('rollout_hosts', 'rollout_id = ? AND name = ?', set.map(([col]) => col)).run(...set.map(([, v]) => v), c.rolloutId, c.host.name);
      }
    }
    const set = columnsToSet(COLUMNS.rollout, { ...c.rollout?.set, updatedAt: c.at });
    updateStatement('rollouts', 'id = ?', set.map(([col]) => col)).run(...set.map(([, v]) => v), c.rolloutId);
    const events = appendEvents(c.rolloutId, c.events);
    return { ok: true, rollout: toRollout(s.getRollout.get(c.rolloutId)!), events };
  });

  return {
    methods: (open) => ({
      createRollout: async (r, hosts, events) => {
        open();
        return create.immediate(r, hosts, events);
      },
      getRollout: async (id) => {
        open();
        const row = s.getRollout.get(id);
        return row ? toRollout(row) : undefined;
      },
      listRollouts: async (filter = {}) => {
        open();
        const rows = filter.unsettled ? s.listUnsettled.all() : s.listRollouts.all(filter.limit ?? 1000);
        return rows.map(toRollout);
      },
      listRolloutHosts: async (rolloutId) => {
        open();
        return s.listHosts.all(rolloutId).map(toHost);
      },
      listRolloutEvents: async (rolloutId, options = {}) => {
        open();
        return s.listEvents.all(rolloutId, options.afterSeq ?? 0, options.limit ?? 10_000).map(toEvent);
      },
      changeRollout: async (c) => {
        open();
        return change.immediate(c);
      },
      acquireRolloutLease: async (id, holder, now, ttl, options = {}) => {
        open();
        const row = s.acquireLease.get({ id, holder, expires: now + ttl, now, force: options.evenIfHeld ? 1 : 0 });
        return row ? { token: row.token } : null;
      },
      renewRolloutLease: async (id, holder, token, now, ttl) => {
        open();
        return s.renewLease.run(now + ttl, id, holder, token).changes === 1;
      },
      releaseRolloutLease: async (id, holder, token) => {
        open();
        return s.releaseLease.run(id, holder, token).changes === 1;
      },
      getRolloutLease: async (id) => {
        open();
        const row = s.getLease.get(id);
        return row ? toLease(row) : undefined;
      },
    }),
  };
}
