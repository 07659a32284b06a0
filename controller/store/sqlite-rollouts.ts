// The SQLite tables of rollouts, their hosts and event logs: each transition one immediate transaction.
import type Database from 'better-sqlite3';
import { columnsToSet, rolloutColumns, rolloutRowValues, rowMappers, TEXT_JSON, type EventRow, type RolloutHostRow as HostRow, type RolloutRow } from './rows.js';
import type { NewRolloutEvent, RolloutChange, RolloutChangeResult, RolloutEventRecord, RolloutHostRecord, RolloutRecord, Store } from './store.js';

const { toRollout, toRolloutHost: toHost, toEvent } = rowMappers(TEXT_JSON);
const COLUMNS = rolloutColumns(TEXT_JSON);

type RolloutMethods = Pick<Store, 'createRollout' | 'getRollout' | 'listRollouts' | 'listRolloutHosts' | 'listRolloutEvents' | 'changeRollout'>;

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
    }),
  };
}
