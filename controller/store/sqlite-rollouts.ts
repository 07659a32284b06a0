// The SQLite tables of rollouts, their hosts and event logs: each transition one immediate transaction.
import type Database from 'better-sqlite3';
import type { RolloutHostState, RolloutReason, RolloutState, Strategy } from '../rollout/model.js';
import type { NewRolloutEvent, RolloutChange, RolloutChangeResult, RolloutEventRecord, RolloutHostRecord, RolloutRecord, Store } from './store.js';

interface RolloutRow {
  id: string; release_id: string; version: string; kind: 'agent' | 'updater'; state: RolloutState; reason: RolloutReason | null; strategy: string;
  budget: number; current_wave: number; wave_count: number; wave_ended_at: number | null; canary_accepted: number;
  created_by: string; created_at: number; updated_at: number; ended_at: number | null;
}
interface HostRow {
  rollout_id: string; name: string; wave: number; state: RolloutHostState; error: string | null; from_release: string | null;
  push_started_at: number | null; started_at: number | null; ended_at: number | null;
}
interface EventRow { rollout_id: string; seq: number; at: number; type: string; host: string | null; wave: number | null; actor: string | null; reason: string | null; message: string }

const toRollout = (r: RolloutRow): RolloutRecord => ({
  id: r.id, releaseId: r.release_id, version: r.version, kind: r.kind, state: r.state, reason: r.reason, strategy: JSON.parse(r.strategy) as Strategy,
  budget: r.budget, currentWave: r.current_wave, waveCount: r.wave_count, waveEndedAt: r.wave_ended_at, canaryAccepted: r.canary_accepted === 1,
  createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at, endedAt: r.ended_at,
});
const toHost = (r: HostRow): RolloutHostRecord => ({
  rolloutId: r.rollout_id, name: r.name, wave: r.wave, state: r.state, error: r.error === null ? null : (JSON.parse(r.error) as RolloutHostRecord['error']),
  from: r.from_release, pushStartedAt: r.push_started_at, startedAt: r.started_at, endedAt: r.ended_at,
});
const toEvent = (r: EventRow): RolloutEventRecord => ({
  rolloutId: r.rollout_id, seq: r.seq, at: r.at, type: r.type, host: r.host, wave: r.wave, actor: r.actor, reason: r.reason, message: r.message,
});

/** Rollout fields that may change, and their columns. */
const ROLLOUT_COLUMNS: Record<string, [string, (v: unknown) => unknown]> = {
  state: ['state', (v) => v], reason: ['reason', (v) => v], strategy: ['strategy', (v) => JSON.stringify(v)], budget: ['budget', (v) => v],
  currentWave: ['current_wave', (v) => v], waveCount: ['wave_count', (v) => v], waveEndedAt: ['wave_ended_at', (v) => v],
  canaryAccepted: ['canary_accepted', (v) => (v ? 1 : 0)], updatedAt: ['updated_at', (v) => v], endedAt: ['ended_at', (v) => v],
};
const HOST_COLUMNS: Record<string, [string, (v: unknown) => unknown]> = {
  state: ['state', (v) => v], error: ['error', (v) => (v === null || v === undefined ? null : JSON.stringify(v))], from: ['from_release', (v) => v],
  pushStartedAt: ['push_started_at', (v) => v], startedAt: ['started_at', (v) => v], endedAt: ['ended_at', (v) => v],
};

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
    s.insertRollout.run({
      id: r.id, release_id: r.releaseId, version: r.version, kind: r.kind, state: r.state, reason: r.reason, strategy: JSON.stringify(r.strategy),
      budget: r.budget, current_wave: r.currentWave, wave_count: r.waveCount, wave_ended_at: r.waveEndedAt, canary_accepted: r.canaryAccepted ? 1 : 0,
      created_by: r.createdBy, created_at: r.createdAt, updated_at: r.updatedAt, ended_at: r.endedAt,
    });
    for (const h of hosts) {
      s.insertHost.run(r.id, h.name, h.wave, h.state, h.error ? JSON.stringify(h.error) : null, h.from, h.pushStartedAt, h.startedAt, h.endedAt);
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
      const set = Object.entries(c.host.set).filter(([k]) => k in HOST_COLUMNS);
      if (set.length > 0) {
        updateStatement('rollout_hosts', 'rollout_id = ? AND name = ?', set.map(([k]) => HOST_COLUMNS[k]![0]))
          .run(...set.map(([k, v]) => HOST_COLUMNS[k]![1](v)), c.rolloutId, c.host.name);
      }
    }
    const set = Object.entries({ ...c.rollout?.set, updatedAt: c.at }).filter(([k]) => k in ROLLOUT_COLUMNS);
    updateStatement('rollouts', 'id = ?', set.map(([k]) => ROLLOUT_COLUMNS[k]![0])).run(...set.map(([k, v]) => ROLLOUT_COLUMNS[k]![1](v)), c.rolloutId);
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
