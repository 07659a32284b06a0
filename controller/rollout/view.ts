// What operators see of a rollout (shared/rollout-api.ts shapes), built purely from its stored rows.
import type { RolloutEvent, RolloutJson } from '../../shared/rollout-api.js';
import type { RolloutEventRecord, RolloutHostRecord, RolloutRecord } from '../store/index.js';
import type { RolloutState } from './model.js';
import { countFailures } from './step.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function toEventJson(e: RolloutEventRecord): RolloutEvent {
  return { seq: e.seq, at: new Date(e.at).toISOString(), type: e.type, host: e.host, wave: e.wave, actor: e.actor, reason: e.reason, message: e.message };
}


/** The release most hosts ran before: the one every changed host came from, or null when they differ or none is known. */
export function commonFrom(hosts: readonly RolloutHostRecord[]): string | null {
  const froms = new Set(hosts.filter((h) => h.state !== 'skipped').map((h) => h.from));
  if (froms.size !== 1) return null;
  return [...froms][0] ?? null;
}

/** The state a paused rollout resumes to: where its waves were. */
export function resumedState(r: Pick<RolloutRecord, 'currentWave' | 'strategy'>): RolloutState {
  if (r.currentWave < 0) return 'pending';
  return r.currentWave === 0 && r.strategy.canary > 0 ? 'canary' : 'rolling';
}

export function toRolloutSummary(r: RolloutRecord, hosts: readonly RolloutHostRecord[]): Omit<RolloutJson, 'hosts' | 'events'> {
  const waves = Array.from({ length: r.waveCount }, (_, index) => {
    const w = hosts.filter((h) => h.wave === index && h.state !== 'skipped');
    const count = (...states: string[]): number => w.filter((h) => states.includes(h.state)).length;
    return { index, hosts: w.length, done: count('succeeded'), inFlight: count('pushing'), failed: count('failed', 'unreachable'), rolledBack: count('rolled-back'), pending: count('pending') };
  });
  return {
    id: r.id, release: r.releaseId, version: r.version, from: commonFrom(hosts), kind: r.kind, state: r.state, reason: r.reason, strategy: r.strategy,
    budget: { allowed: r.budget, used: countFailures(hosts) }, currentWave: r.currentWave, waves, createdBy: r.createdBy,
    createdAt: iso(r.createdAt)!, updatedAt: iso(r.updatedAt)!, endedAt: iso(r.endedAt),
  };
}

export function toRolloutJson(r: RolloutRecord, hosts: readonly RolloutHostRecord[], events: readonly RolloutEventRecord[]): RolloutJson {
  return {
    ...toRolloutSummary(r, hosts),
    hosts: hosts.map((h) => ({ name: h.name, wave: h.wave, state: h.state, error: h.error, from: h.from, startedAt: iso(h.startedAt), endedAt: iso(h.endedAt) })),
    events: events.map(toEventJson),
  };
}
