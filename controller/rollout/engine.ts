// The rollout engine behind RolloutService: starts rollouts (rows first), drives them with the executor (under each
// rollout's lease: one driver per rollout among replicas), takes operator pause/resume/abort (from any replica),
// resumes after a restart or takes over a dead replica's rollouts, and runs fleet rollback.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.js';
import type { IdSource } from '../../shared/ids.js';
import { LIMITS } from '../../shared/limits.js';
import { Slots } from '../../shared/limit-concurrency.js';
import type { FleetRollbackReport, RolloutEvent, RolloutJson, StartRolloutBody } from '../../shared/rollout-api.js';
import type { TlsMaterial } from '../../shared/tls.js';
import { controllerError } from '../errors.js';
import type { NewRolloutEvent, RolloutEventRecord, RolloutHostRecord, RolloutRecord, Store } from '../store/index.js';
import { RolloutExecutor } from './executor.js';
import { defaultLeaseOptions, type LeaseOptions } from './lease.js';
import { rollbackHosts, type RollbackTarget } from './fleet-rollback.js';
import { resolveAmount, type RolloutState } from './model.js';
import { planRollout } from './plan.js';
import { pushRelease, type PushTiming } from './push.js';
import type { PushOutcome } from './push-outcome.js';
import type { FleetRollbackBody, RolloutPlanJson, RolloutService, RolloutSummaryJson } from './service.js';
import { resolveStrategy, selectHosts, type FleetHost, type FleetSource } from './targets.js';
import type { ReleaseSource } from './updater-client.js';
import { resumedState, toEventJson, toRolloutJson, toRolloutSummary } from './view.js';

export interface RolloutEngineDeps {
  store: Store;
  releases: ReleaseSource;
  fleet: FleetSource;
  /** The controller's current TLS identity (it renews itself). */
  material: () => TlsMaterial;
  clock: Clock;
  ids: IdSource;
  logger: Logger;
  /** Clock of the push client's deadlines and polls (default: `clock`; tests drive the rollout on a fake clock). */
  pushClock?: Clock;
  pushTiming?: Partial<PushTiming>;
  /** Write an audit entry (fleet rollback). */
  audit?: (action: string, actor: string, target: string, details: Record<string, unknown>) => Promise<void>;
  /** Each settled push (metrics). */
  onSettled?: (outcome: PushOutcome['state'], seconds: number) => void;
  /** One driver per rollout: this process's lease holder id and timings (defaults: a random holder, shared/limits.ts). */
  lease?: Partial<LeaseOptions>;
}

export interface RolloutEngine extends RolloutService {
  /** Resume every unsettled rollout (controller start, after listen): hosts found pushing are settled first. */
  resumeUnsettled(): Promise<void>;
}

const RUNNING: RolloutState[] = ['pending', 'canary', 'rolling'];
/** Worth a rollback attempt: the channel is up, or still expected back (the rollback goes to the updater directly). */
const reachable = (h: FleetHost | undefined): boolean => h !== undefined && (h.updaterOnline || h.reconnectBy != null);

export function createRolloutEngine(deps: RolloutEngineDeps): RolloutEngine {
  const live = new EventEmitter();
  live.setMaxListeners(0);
  const publish = (events: readonly RolloutEventRecord[]): void => {
    for (const e of events) live.emit('event', { ...toEventJson(e), rollout: e.rolloutId });
  };
  // Bodies in flight are bounded for the whole controller, apart from max-parallel: memory stays flat in fleet size.
  const bodySlots = new Slots(LIMITS['rollout.concurrent-bodies'].value);
  const executor = new RolloutExecutor({
    store: deps.store, fleet: deps.fleet, clock: deps.clock, logger: deps.logger, publish,
    push: (req) => pushRelease({ material: deps.material, releases: deps.releases, clock: deps.pushClock ?? deps.clock, logger: deps.logger, bodySlots, ...(deps.pushTiming ? { timing: deps.pushTiming } : {}) }, req),
    ...(deps.onSettled ? { onSettled: deps.onSettled } : {}),
    lease: { ...defaultLeaseOptions(), ...deps.lease },
  });
  const event = (e: Partial<NewRolloutEvent> & { type: string; message: string }): NewRolloutEvent =>
    ({ at: deps.clock.now(), host: null, wave: null, actor: null, reason: null, ...e });

  const mustGet = async (id: string): Promise<RolloutRecord> => {
    const r = await deps.store.getRollout(id);
    if (!r) throw controllerError('SWARM_ERR_ROLLOUT_NOT_FOUND', `no rollout ${id}; see swarmctl rollout list`);
    return r;
  };
  const get = async (id: string): Promise<RolloutJson | undefined> => {
    const r = await deps.store.getRollout(id);
    if (!r) return undefined;
    return toRolloutJson(r, await deps.store.listRolloutHosts(id), await deps.store.listRolloutEvents(id));
  };
  const mustView = async (id: string): Promise<RolloutJson> => (await get(id))!;

  const prepare = async (body: StartRolloutBody) => {
    const release = await deps.releases.resolve(body.release);
    const strategy = resolveStrategy(body.strategy);
    const hosts = selectHosts(await deps.fleet.list(), body.targets);
    if (hosts.length === 0) throw controllerError('SWARM_ERR_ROLLOUT_NO_HOSTS', 'the targets match no enrolled host; see swarmctl host list');
    // The updaters' own code has no release id in their reports: an updater rollout skips no host.
    const plan = planRollout(hosts.map((h) => ({ name: h.name, release: body.kind === 'agent' ? h.release : null })), release.id, strategy);
    return { release, strategy, hosts, plan };
  };

  /** An operator transition: only from `from` states; refused with the rollout's state otherwise. */
  const operate = async (id: string, from: readonly RolloutState[], set: (r: RolloutRecord) => Partial<RolloutRecord>, ev: (r: RolloutRecord) => NewRolloutEvent, verb: string): Promise<RolloutJson> => {
    const r = await mustGet(id);
    if (!from.includes(r.state)) throw controllerError('SWARM_ERR_ROLLOUT_STATE', `rollout ${id} is ${r.state}${r.reason ? ` (${r.reason})` : ''}; it cannot be ${verb}`);
    const result = await deps.store.changeRollout({ rolloutId: id, at: deps.clock.now(), rollout: { whenState: [r.state], set: set(r) }, events: [ev(r)] });
    if (!result.ok) {
      const now = await mustGet(id);
      throw controllerError('SWARM_ERR_ROLLOUT_STATE', `rollout ${id} changed to ${now.state} meanwhile; it cannot be ${verb}`);
    }
    publish(result.events);
    executor.kick(id);
    return mustView(id);
  };

  return {
    async resumeUnsettled() {
      await executor.resume();
    },

    async plan(body): Promise<RolloutPlanJson> {
      const { release, strategy, plan } = await prepare(body);
      return { release: release.id, version: release.version, waves: plan.waves, skipped: plan.hosts.filter((h) => h.skipped).map((h) => h.name), budget: plan.budget, strategy };
    },

    async start(body, actor) {
      const { release, strategy, hosts, plan } = await prepare(body);
      const now = deps.clock.now();
      const id = deps.ids.next('rollout');
      const byName = new Map(hosts.map((h) => [h.name, h]));
      const record: RolloutRecord = {
        id, releaseId: release.id, version: release.version, kind: body.kind, state: 'pending', reason: null, strategy, budget: plan.budget,
        currentWave: -1, waveCount: plan.waves.length, waveEndedAt: null, canaryAccepted: false, createdBy: actor, createdAt: now, updatedAt: now, endedAt: null,
      };
      // `from` is what each host runs now; it is written again when its push starts (what it ran then).
      const rows: RolloutHostRecord[] = plan.hosts.map((h) => ({
        rolloutId: id, name: h.name, wave: h.wave, state: h.skipped ? 'skipped' : 'pending', error: null, from: byName.get(h.name)?.release ?? null,
        pushStartedAt: null, startedAt: null, endedAt: null,
      }));
      const skipped = plan.hosts.filter((h) => h.skipped).length;
      const events = await deps.store.createRollout(record, rows, [event({
        type: 'started', actor,
        message: `${actor} started ${release.version} on ${hosts.length} host(s): ${plan.waves.length} wave(s), ${skipped} already on it, budget ${plan.budget}`,
      })]);
      publish(events);
      deps.logger.info({ rollout: id, release: release.id, hosts: hosts.length }, 'rollout started');
      executor.kick(id);
      return mustView(id);
    },

    async list(): Promise<RolloutSummaryJson[]> {
      const rollouts = await deps.store.listRollouts();
      const out: RolloutSummaryJson[] = [];
      for (const r of rollouts) out.push(toRolloutSummary(r, await deps.store.listRolloutHosts(r.id)));
      return out;
    },

    get,

    pause: (id, actor) => operate(id, RUNNING, () => ({ state: 'paused', reason: 'operator' }),
      () => event({ type: 'paused', actor, reason: 'operator', message: `paused by ${actor}; pushes in flight finish` }), 'paused'),

    async resume(id, actor, maxFailures) {
      const hostCount = (await deps.store.listRolloutHosts(id)).length;
      return operate(id, ['paused'], (r) => ({
        state: resumedState(r), reason: null,
        canaryAccepted: r.canaryAccepted || r.reason === 'canary-failed',
        ...(maxFailures ? { strategy: { ...r.strategy, maxFailures }, budget: resolveAmount(maxFailures, hostCount) } : {}),
      }), (r) => event({
        type: 'resumed', actor, reason: r.reason,
        message: `resumed by ${actor}${r.reason === 'canary-failed' ? ', accepting the canary' : ''}${maxFailures ? `, budget now ${resolveAmount(maxFailures, hostCount)}` : ''}`,
      }), 'resumed');
    },

    abort: (id, actor) => operate(id, [...RUNNING, 'paused'], () => ({ state: 'aborted', reason: 'operator', endedAt: deps.clock.now() }),
      () => event({ type: 'aborted', actor, reason: 'operator', message: `aborted by ${actor}; pushes in flight finish` }), 'aborted'),

    async events(id, afterSeq): Promise<RolloutEvent[]> {
      await mustGet(id);
      return (await deps.store.listRolloutEvents(id, afterSeq === undefined ? {} : { afterSeq })).map(toEventJson);
    },

    subscribe(id, listener) {
      const on = (e: RolloutEvent & { rollout: string }): void => {
        if (id === undefined || e.rollout === id) listener(e);
      };
      live.on('event', on);
      return () => live.off('event', on);
    },

    async rollback(body: FleetRollbackBody, actor: string): Promise<FleetRollbackReport> {
      const startedAt = deps.clock.now();
      const fleet = await deps.fleet.list();
      const byName = new Map(fleet.map((h) => [h.name, h]));
      // First, nothing may push the bad release again: pause every running rollout that targets a selected host
      // (with --rollout: that rollout, and any other running one that targets its hosts).
      const rollout = body.rollout !== undefined ? await mustGet(body.rollout) : undefined;
      const chosen: FleetHost[] = rollout ? [] : selectHosts(fleet, body.all ? { all: true } : body.hosts ? { hosts: body.hosts } : { selector: body.selector! });
      const selected = new Set(rollout ? (await deps.store.listRolloutHosts(rollout.id)).filter((h) => h.state !== 'skipped').map((h) => h.name) : chosen.map((h) => h.name));
      const pausedRollouts: string[] = [];
      for (const r of await deps.store.listRollouts({ unsettled: true })) {
        if (!RUNNING.includes(r.state)) continue;
        if (r.id !== rollout?.id && !(await deps.store.listRolloutHosts(r.id)).some((h) => selected.has(h.name))) continue;
        const result = await deps.store.changeRollout({
          rolloutId: r.id, at: deps.clock.now(), rollout: { whenState: RUNNING, set: { state: 'paused', reason: 'rollback' } },
          events: [event({ type: 'paused', actor, reason: 'rollback', message: `paused by ${actor}: fleet rollback` })],
        });
        if (result.ok) {
          publish(result.events);
          pausedRollouts.push(r.id);
        }
      }
      let targets: RollbackTarget[];
      if (rollout) {
        // Hosts still being pushed settle first (bounded by their deadline): only then is it known what changed.
        await Promise.all((await deps.store.listRolloutHosts(rollout.id)).map((h) => executor.inFlight(rollout.id, h.name)));
        const changed = (await deps.store.listRolloutHosts(rollout.id)).filter((h: RolloutHostRecord) => h.state === 'succeeded');
        targets = changed.map((h) => ({
          name: h.name, address: byName.get(h.name)?.address ?? null, updaterOnline: reachable(byName.get(h.name)),
          expect: { release: rollout.releaseId, prev: h.from, rollout: rollout.id },
        }));
      } else {
        targets = chosen.map((h) => ({ name: h.name, address: h.address, updaterOnline: reachable(h) }));
      }
      const stop = new AbortController();
      const hosts = await rollbackHosts({
        material: deps.material, logger: deps.logger, connectTimeoutMs: LIMITS['rollout.connect-timeout'].value, hostDeadlineMs: LIMITS['rollback.host-deadline'].value,
      }, targets, body.parallel ?? LIMITS['rollback.parallel'].value, stop.signal);
      const report: FleetRollbackReport = { hosts, pausedRollouts, startedAt: new Date(startedAt).toISOString(), endedAt: new Date(deps.clock.now()).toISOString() };
      await deps.audit?.('rollback', actor, body.rollout ? `rollout:${body.rollout}` : targets.map((t) => t.name).join(',').slice(0, 512), {
        hosts: hosts.map((h) => ({ name: h.name, state: h.state, release: h.release, ...(h.error ? { code: h.error.code } : {}) })), pausedRollouts,
      });
      return report;
    },

    async close() {
      await executor.close();
    },
  };
}
