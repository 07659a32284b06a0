// An in-memory RolloutService for route and swarmctl tests: rollouts the test drives host by host, events it can
// watch, calls it can inspect. Plans with the real planRollout, so waves look like the engine's.
import { ROLLOUT_DEFAULTS } from '../../shared/rollout-strategy.js';
import type { FleetRollbackReport, RolloutEvent, RolloutJson, StartRolloutBody } from '../../shared/rollout-api.js';
import { controllerError } from '../../controller/errors.js';
import { planRollout } from '../../controller/rollout/plan.js';
import type { FleetRollbackBody, RolloutPlanJson, RolloutService, RolloutSummaryJson } from '../../controller/rollout/service.js';
import type { Strategy } from '../../controller/rollout/model.js';

type HostState = RolloutJson['hosts'][number]['state'];
type Listener = (event: RolloutEvent & { rollout: string }) => void;
type RollbackEntry = FleetRollbackReport['hosts'][number];

export interface FakeRelease {
  id: string;
  version: string;
}

export interface FakeHost {
  name: string;
  /** The release it runs now (a host on the rollout's release is skipped). */
  release: string | null;
  labels?: Record<string, string>;
}

const FAILED: ReadonlySet<HostState> = new Set(['failed', 'rolled-back', 'unreachable']);
const SETTLED: ReadonlySet<HostState> = new Set(['succeeded', 'failed', 'rolled-back', 'unreachable', 'skipped']);

export class FakeRolloutService implements RolloutService {
  readonly releases: FakeRelease[];
  readonly hosts: FakeHost[];
  /** Every call the routes made, with its actor where there is one. */
  readonly calls: Array<{ method: string; args: unknown[] }> = [];
  /** Called after start answered (next tick): a test drives the rollout from here. */
  onStart: ((rollout: RolloutJson) => void) | undefined;
  /** How each host ends a fleet rollback (default: rolled-back to `prev-<name>`). */
  rollbackOutcome: Record<string, Omit<RollbackEntry, 'name'>> = {};
  readonly #rollouts = new Map<string, RolloutJson>();
  readonly #listeners = new Set<{ id: string | undefined; fn: Listener }>();
  #next = 1;
  closed = false;

  constructor(options: { releases?: FakeRelease[]; hosts?: FakeHost[] } = {}) {
    this.releases = options.releases ?? [];
    this.hosts = options.hosts ?? [];
  }

  /** How many listeners are subscribed (a closed stream must unsubscribe). */
  get listenerCount(): number {
    return this.#listeners.size;
  }

  #resolve(ref: string): FakeRelease {
    const found = this.releases.filter((r) => r.id === ref || r.version === ref || (ref.length >= 8 && r.id.startsWith(ref)));
    if (found.length === 0) throw controllerError('SWARM_ERR_RELEASE_NOT_FOUND', `no release matches "${ref}"; see swarmctl release list`);
    if (found.length > 1) throw controllerError('SWARM_ERR_RELEASE_AMBIGUOUS', `"${ref}" matches ${found.map((r) => r.id.slice(0, 12)).join(', ')}; give the full id`);
    return found[0]!;
  }

  #targets(body: StartRolloutBody): FakeHost[] {
    const t = body.targets;
    if ('all' in t) return [...this.hosts];
    if ('hosts' in t) {
      const unknown = t.hosts.filter((n) => !this.hosts.some((h) => h.name === n));
      if (unknown.length > 0) throw controllerError('SWARM_ERR_ROLLOUT_TARGETS', `no host named ${unknown.join(', ')}`);
      return this.hosts.filter((h) => t.hosts.includes(h.name));
    }
    const [k, v] = t.selector.split('=');
    const chosen = this.hosts.filter((h) => h.labels?.[k!] === v);
    if (chosen.length === 0) throw controllerError('SWARM_ERR_ROLLOUT_TARGETS', `no host matches ${t.selector}`);
    return chosen;
  }

  #strategy(body: StartRolloutBody): Strategy {
    return { ...ROLLOUT_DEFAULTS, ...body.strategy } as Strategy;
  }

  async plan(body: StartRolloutBody): Promise<RolloutPlanJson> {
    this.calls.push({ method: 'plan', args: [body] });
    const release = this.#resolve(body.release);
    const strategy = this.#strategy(body);
    const p = planRollout(this.#targets(body), release.id, strategy);
    return { release: release.id, version: release.version, waves: p.waves, skipped: p.hosts.filter((h) => h.skipped).map((h) => h.name), budget: p.budget, strategy };
  }

  async start(body: StartRolloutBody, actor: string): Promise<RolloutJson> {
    this.calls.push({ method: 'start', args: [body, actor] });
    const release = this.#resolve(body.release);
    const strategy = this.#strategy(body);
    const targets = this.#targets(body);
    const p = planRollout(targets, release.id, strategy);
    const at = new Date().toISOString();
    const id = `r${this.#next++}`;
    const rollout: RolloutJson = {
      id, release: release.id, version: release.version, from: targets[0]?.release ?? null, kind: body.kind,
      state: strategy.canary > 0 ? 'canary' : 'rolling', reason: null, strategy,
      budget: { allowed: p.budget, used: 0 }, currentWave: 0, waves: [], createdBy: actor, createdAt: at, updatedAt: at, endedAt: null,
      hosts: p.hosts.map((h) => ({
        name: h.name, wave: h.wave, state: h.skipped ? 'skipped' : 'pending', error: null,
        from: targets.find((t) => t.name === h.name)?.release ?? null, startedAt: null, endedAt: null,
      })),
      events: [],
    };
    this.#rollouts.set(id, rollout);
    this.#refresh(rollout);
    this.emit(id, { type: 'started', actor, message: `rollout of ${release.version} to ${targets.length} hosts started by ${actor}` });
    const copy = structuredClone(rollout);
    setImmediate(() => this.onStart?.(copy));
    return copy;
  }

  async list(): Promise<RolloutSummaryJson[]> {
    this.calls.push({ method: 'list', args: [] });
    return [...this.#rollouts.values()].map(({ hosts: _h, events: _e, ...summary }) => structuredClone(summary));
  }

  async get(id: string): Promise<RolloutJson | undefined> {
    this.calls.push({ method: 'get', args: [id] });
    const r = this.#rollouts.get(id);
    return r ? structuredClone(r) : undefined;
  }

  #must(id: string): RolloutJson {
    const r = this.#rollouts.get(id);
    if (!r) throw controllerError('SWARM_ERR_ROLLOUT_NOT_FOUND', `no rollout "${id}"; see swarmctl rollout list`);
    return r;
  }

  async pause(id: string, actor: string): Promise<RolloutJson> {
    this.calls.push({ method: 'pause', args: [id, actor] });
    const r = this.#must(id);
    if (r.state === 'done' || r.state === 'aborted') throw controllerError('SWARM_ERR_ROLLOUT_STATE', `rollout ${id} is ${r.state}; it cannot be paused`);
    this.setState(id, 'paused', 'operator', actor);
    return structuredClone(r);
  }

  async resume(id: string, actor: string, maxFailures?: RolloutJson['strategy']['maxFailures']): Promise<RolloutJson> {
    this.calls.push({ method: 'resume', args: [id, actor, maxFailures] });
    const r = this.#must(id);
    if (r.state !== 'paused') throw controllerError('SWARM_ERR_ROLLOUT_STATE', `rollout ${id} is ${r.state}, not paused`);
    if (maxFailures) r.strategy.maxFailures = maxFailures;
    r.state = r.currentWave === 0 && r.strategy.canary > 0 ? 'canary' : 'rolling';
    r.reason = null;
    this.emit(id, { type: 'resumed', actor, message: `resumed by ${actor}` });
    return structuredClone(r);
  }

  async abort(id: string, actor: string): Promise<RolloutJson> {
    this.calls.push({ method: 'abort', args: [id, actor] });
    const r = this.#must(id);
    if (r.state === 'done' || r.state === 'aborted') throw controllerError('SWARM_ERR_ROLLOUT_STATE', `rollout ${id} is ${r.state}; it cannot be aborted`);
    this.setState(id, 'aborted', 'operator', actor);
    return structuredClone(r);
  }

  async events(id: string, afterSeq = 0): Promise<RolloutEvent[]> {
    this.calls.push({ method: 'events', args: [id, afterSeq] });
    return structuredClone(this.#must(id).events.filter((e) => e.seq > afterSeq));
  }

  subscribe(id: string | undefined, listener: Listener): () => void {
    const entry = { id, fn: listener };
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  async rollback(body: FleetRollbackBody, actor: string): Promise<FleetRollbackReport> {
    this.calls.push({ method: 'rollback', args: [body, actor] });
    let names: string[];
    if (body.hosts) names = body.hosts;
    else if (body.rollout) names = this.#must(body.rollout).hosts.filter((h) => h.state === 'succeeded').map((h) => h.name);
    else if (body.selector) {
      const [k, v] = body.selector.split('=');
      names = this.hosts.filter((h) => h.labels?.[k!] === v).map((h) => h.name);
    } else names = this.hosts.map((h) => h.name);
    const paused: string[] = [];
    for (const r of this.#rollouts.values()) {
      if ((r.state === 'canary' || r.state === 'rolling' || r.state === 'pending') && r.hosts.some((h) => names.includes(h.name))) {
        this.setState(r.id, 'paused', 'rollback', actor);
        paused.push(r.id);
      }
    }
    const at = new Date().toISOString();
    return {
      hosts: names.map((name) => ({ name, ...(this.rollbackOutcome[name] ?? { state: 'rolled-back' as const, release: `prev-${name}`, error: null }) })),
      pausedRollouts: paused,
      startedAt: at,
      endedAt: new Date().toISOString(),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  // -- what a test drives --

  /** Append an event and tell subscribers (as the engine does after each transition). */
  emit(id: string, e: { type: string; host?: string | null; wave?: number | null; actor?: string | null; reason?: string | null; message?: string }): RolloutEvent {
    const r = this.#must(id);
    const event: RolloutEvent = {
      seq: (r.events.at(-1)?.seq ?? 0) + 1, at: new Date().toISOString(), type: e.type, host: e.host ?? null, wave: e.wave ?? null,
      actor: e.actor ?? null, reason: e.reason ?? null, message: e.message ?? e.type,
    };
    r.events.push(event);
    r.updatedAt = event.at;
    for (const l of [...this.#listeners]) if (l.id === undefined || l.id === id) l.fn({ ...structuredClone(event), rollout: id });
    return event;
  }

  /** Move one host (and record the event the engine would). */
  setHost(id: string, name: string, state: HostState, error: { code: string; message: string; detail?: string } | null = null): void {
    const r = this.#must(id);
    const h = r.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`fake: ${name} is not in rollout ${id}`);
    h.state = state;
    h.error = error;
    if (state === 'pushing') h.startedAt = new Date().toISOString();
    if (SETTLED.has(state)) h.endedAt = new Date().toISOString();
    r.currentWave = Math.max(r.currentWave, h.wave);
    if (r.currentWave > 0 && r.state === 'canary') r.state = 'rolling';
    this.#refresh(r);
    const type = state === 'pushing' ? 'host-pushing' : `host-${state}`;
    this.emit(id, { type, host: name, wave: h.wave, message: error ? `${name} ${state}: ${error.code} ${error.message}` : `${name} ${state}` });
  }

  /** Change the rollout's state (done, paused with a reason, aborted), with its event. */
  setState(id: string, state: RolloutJson['state'], reason: RolloutJson['reason'] = null, actor: string | null = null): void {
    const r = this.#must(id);
    r.state = state;
    r.reason = reason;
    if (state === 'done' || state === 'aborted') r.endedAt = new Date().toISOString();
    this.emit(id, { type: state, actor, reason, message: `rollout ${state}${reason ? ` (${reason})` : ''}${actor ? ` by ${actor}` : ''}` });
  }

  /**
   * Play a rollout to its end on later ticks: each host pushes then ends as `outcomes` says (default succeeded);
   * the rollout pauses (budget-exceeded) when failures pass its budget, else ends done.
   */
  async drive(id: string, outcomes: Record<string, HostState> = {}, errors: Record<string, { code: string; message: string }> = {}): Promise<void> {
    const r = this.#must(id);
    const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    for (const h of r.hosts.filter((x) => x.state === 'pending' || x.state === 'pushing').sort((a, b) => a.wave - b.wave)) {
      await tick();
      if (r.state === 'paused' || r.state === 'aborted') return;
      if (h.state !== 'pushing') this.setHost(id, h.name, 'pushing');
      await tick();
      const end = outcomes[h.name] ?? 'succeeded';
      this.setHost(id, h.name, end, FAILED.has(end) ? (errors[h.name] ?? { code: 'SWARM_ERR_UPDATER_PROBE_FAILED', message: `agent on ${h.name} did not become healthy` }) : null);
      if (r.budget.used > r.budget.allowed) {
        this.setState(id, 'paused', h.wave === 0 && r.strategy.canary > 0 ? 'canary-failed' : 'budget-exceeded');
        return;
      }
    }
    await tick();
    this.setState(id, 'done');
  }

  #refresh(r: RolloutJson): void {
    const count = Math.max(0, ...r.hosts.filter((h) => h.state !== 'skipped').map((h) => h.wave + 1));
    r.waves = Array.from({ length: count }, (_v, index) => {
      const hs = r.hosts.filter((h) => h.wave === index && h.state !== 'skipped');
      const n = (s: HostState): number => hs.filter((h) => h.state === s).length;
      return { index, hosts: hs.length, done: n('succeeded'), inFlight: n('pushing'), failed: n('failed') + n('unreachable'), rolledBack: n('rolled-back'), pending: n('pending') };
    });
    r.budget.used = r.hosts.filter((h) => FAILED.has(h.state)).length;
  }
}
