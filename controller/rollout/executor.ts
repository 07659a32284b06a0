// The thin loop over decideRollout: read the stored rollout, decide, write each transition, then act (pushes run in
// the background); re-run on every settled push, operator action and due timer. Only the holder of a rollout's lease
// drives it, and every transition it writes carries the lease's fencing token. On taking a rollout (a restart, or
// another replica's lease expired), hosts found `pushing` are settled from their updaters' records, never pushed blind.
import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.js';
import type { NewRolloutEvent, RolloutChange, RolloutEventRecord, RolloutRecord, Store } from '../store/index.js';
import { LIMITS } from '../../shared/limits.js';
import { controllerError } from '../errors.js';
import type { PushRequest } from './push.js';
import type { PushOutcome } from './push-outcome.js';
import { RolloutLeases, type LeaseOptions, type Tenure } from './lease.js';
import { decideRollout, type RolloutAction } from './step.js';
import type { FleetHost, FleetSource } from './targets.js';

export interface ExecutorDeps {
  store: Store;
  fleet: FleetSource;
  push: (req: PushRequest) => Promise<PushOutcome>;
  clock: Clock;
  logger: Logger;
  /** Every event written, for live subscribers. */
  publish: (events: readonly RolloutEventRecord[]) => void;
  /** Each settled push (metrics). */
  onSettled?: (outcome: PushOutcome['state'], seconds: number) => void;
  lease: LeaseOptions;
}

interface Driver {
  running: boolean;
  again: boolean;
  timer: NodeJS.Timeout | undefined;
}

const ACTIVE: RolloutRecord['state'][] = ['pending', 'canary', 'rolling'];
/** Steps one kick may take before yielding (each applies at least one transition; a rollout has finitely many). */
const MAX_STEPS_PER_KICK = 10_000;

const event = (at: number, e: Partial<NewRolloutEvent> & { type: string; message: string }): NewRolloutEvent =>
  ({ at, host: null, wave: null, actor: null, reason: null, ...e });

function outcomeEvent(at: number, host: string, wave: number, o: PushOutcome, version: string): NewRolloutEvent {
  if (o.state === 'succeeded') return event(at, { type: 'host-succeeded', host, wave, message: `${host} runs ${version}` });
  const detail = o.error.detail ? ` (${o.error.detail})` : '';
  const what = o.state === 'rolled-back' ? 'rolled itself back' : o.state === 'unreachable' ? 'is unreachable' : 'failed';
  return event(at, { type: `host-${o.state}`, host, wave, reason: o.error.code, message: `${host} ${what}: ${o.error.message}${detail}` });
}

export class RolloutExecutor {
  readonly #d: ExecutorDeps;
  readonly #drivers = new Map<string, Driver>();
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #stop = new AbortController();
  readonly #leases: RolloutLeases;
  /** Rollouts whose lease this process is asking for now (one ask at a time). */
  readonly #claiming = new Set<string>();
  #pollTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(deps: ExecutorDeps) {
    this.#d = deps;
    this.#leases = new RolloutLeases({ store: deps.store, clock: deps.clock, logger: deps.logger, options: deps.lease, onRenewed: (id) => this.kick(id) });
  }

  /**
   * At start: take every unsettled rollout whose lease is free (a controller alone on its database: every one), settle
   * its hosts found pushing from their records, and go on; then keep looking for rollouts whose driver died.
   */
  async resume(): Promise<void> {
    for (const r of await this.#d.store.listRollouts({ unsettled: true })) await this.#claim(r.id, this.#d.lease.exclusive);
    this.#schedulePoll();
  }

  /** Decide again for this rollout (coalesced: one run at a time, re-run when kicked meanwhile); first take its lease if free. */
  kick(id: string): void {
    if (this.#closed) return;
    const tenure = this.#leases.get(id);
    if (!tenure) {
      // Another replica may drive it (it picks operator actions up at its next renewal); if nobody does, take it.
      void this.#claim(id, false);
      return;
    }
    let d = this.#drivers.get(id);
    if (!d) this.#drivers.set(id, (d = { running: false, again: false, timer: undefined }));
    if (d.running) {
      d.again = true;
      return;
    }
    d.running = true;
    void this.#run(id, d, tenure);
  }

  /** The push in flight for a host of a rollout, if this process runs one. */
  inFlight(id: string, host: string): Promise<void> | undefined {
    return this.#inFlight.get(`${id}/${host}`);
  }

  /**
   * Stop deciding; pushes in flight are abandoned (their hosts stay `pushing`), and the leases are given back, so that
   * another replica (or this controller after its restart) takes the rollouts over at once and settles those hosts.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const d of this.#drivers.values()) if (d.timer) this.#d.clock.clearTimeout(d.timer);
    if (this.#pollTimer) this.#d.clock.clearTimeout(this.#pollTimer);
    this.#leases.stop();
    this.#stop.abort(new Error('the controller is stopping'));
    await Promise.allSettled([...this.#inFlight.values()]);
    await this.#leases.releaseAll();
  }

  /** Take the rollout's lease if it is free (or expired, or `evenIfHeld`); then settle its hosts left pushing and drive it. */
  async #claim(id: string, evenIfHeld: boolean): Promise<void> {
    if (this.#closed || this.#claiming.has(id) || this.#leases.get(id)) return;
    this.#claiming.add(id);
    try {
      const tenure = await this.#leases.acquire(id, evenIfHeld);
      if (tenure && !this.#closed) await this.#takeOver(id, tenure);
    } catch (err) {
      if (!this.#closed) this.#d.logger.error({ err, rollout: id }, 'taking the rollout\'s lease failed; trying again at the next poll');
    } finally {
      this.#claiming.delete(id);
    }
  }

  /** A new tenure: hosts found pushing were left by an earlier driver (or this one before a restart); settle them first. */
  async #takeOver(id: string, tenure: Tenure): Promise<void> {
    const r = await this.#d.store.getRollout(id);
    if (!r) return;
    const pushing = (await this.#d.store.listRolloutHosts(id)).filter((h) => h.state === 'pushing');
    const fleet = pushing.length > 0 ? await this.#fleetByName() : new Map<string, FleetHost>();
    for (const h of pushing) {
      this.#d.logger.info({ rollout: id, host: h.name, leaseToken: tenure.fence.token }, 'found the host pushing after a restart or a takeover; settling it from its updater\'s records');
      this.#launch(r, h.name, h.wave, fleet.get(h.name)?.address ?? null, h.pushStartedAt ?? this.#d.clock.now(), true, tenure);
    }
    // A resumed push kicks its rollout when it settles: nothing new starts before the records were read.
    if (pushing.length === 0) this.kick(id);
  }

  /** Look for unsettled rollouts nobody drives (their lease expired or was never taken) and take them over. */
  #schedulePoll(): void {
    if (this.#closed || this.#pollTimer) return;
    this.#pollTimer = this.#d.clock.setTimeout(() => {
      void this.#poll().finally(() => {
        this.#pollTimer = undefined;
        this.#schedulePoll();
      });
    }, this.#d.lease.pollMs);
    this.#pollTimer.unref?.();
  }

  async #poll(): Promise<void> {
    try {
      for (const r of await this.#d.store.listRollouts({ unsettled: true })) {
        if (this.#closed) return;
        if (this.#leases.get(r.id) || this.#claiming.has(r.id)) continue;
        const lease = await this.#d.store.getRolloutLease(r.id);
        if (lease && lease.holder !== null && lease.expiresAt > this.#d.clock.now()) continue;
        if (lease?.holder) this.#d.logger.warn({ rollout: r.id, holder: lease.holder, leaseToken: lease.token }, 'the rollout\'s driver stopped renewing its lease; taking the rollout over');
        await this.#claim(r.id, false);
      }
    } catch (err) {
      if (!this.#closed) this.#d.logger.error({ err }, 'looking for rollouts to take over failed; trying again at the next poll');
    }
  }

  async #run(id: string, d: Driver, tenure: Tenure): Promise<void> {
    try {
      for (let i = 0; i < MAX_STEPS_PER_KICK && !this.#closed && !tenure.lost; i++) {
        d.again = false;
        const changed = await this.#step(id, d, tenure);
        if (!changed && !d.again) break;
      }
    } catch (err) {
      if (!this.#closed) this.#d.logger.error({ err, rollout: id }, 'rollout step failed; retrying at the next wake-up');
    } finally {
      d.running = false;
      if (d.again && !this.#closed) this.kick(id);
    }
  }

  async #fleetByName(): Promise<Map<string, FleetHost>> {
    return new Map((await this.#d.fleet.list()).map((h) => [h.name, h]));
  }

  /** One decision and its transitions; true when something changed (decide again at once). */
  async #step(id: string, d: Driver, tenure: Tenure): Promise<boolean> {
    const r = await this.#d.store.getRollout(id);
    if (!r) return false;
    const hosts = await this.#d.store.listRolloutHosts(id);
    if (!ACTIVE.includes(r.state)) {
      // Settled (done or aborted, nothing in flight): nothing is left to drive; give the lease back. A paused one keeps it.
      if (r.state !== 'paused' && !hosts.some((h) => h.state === 'pushing') && !tenure.lost) {
        if (d.timer) this.#d.clock.clearTimeout(d.timer);
        d.timer = undefined;
        await this.#leases.release(tenure);
      }
      return false;
    }
    const fleet = await this.#fleetByName();
    const now = this.#d.clock.now();
    const offline = new Set<string>();
    const reconnecting = new Map<string, number>();
    for (const h of hosts) {
      const f = fleet.get(h.name);
      if (f && f.address !== null && !f.updaterOnline && f.reconnectBy != null) reconnecting.set(h.name, f.reconnectBy);
      else if (!f || !f.updaterOnline || f.address === null) offline.add(h.name);
    }
    const actions = decideRollout(r, hosts, { now, offline, reconnecting });
    // Before any transition (and so any push): a lease past its expiry on this clock is renewed first, or given up.
    if (actions.some((x) => x.type !== 'wait') && !(await this.#leases.confirm(tenure))) return false;
    let changed = false;
    for (const a of actions) {
      if (a.type === 'wait') {
        // A channel coming back kicks nothing: while a host waits for it, look again every recheck interval.
        const recheck = reconnecting.size > 0 ? now + LIMITS['rollout.reconnect-recheck'].value : null;
        const until = a.until === null ? recheck : recheck === null ? a.until : Math.min(a.until, recheck);
        if (until !== null) this.#wakeAt(id, d, until);
        continue;
      }
      if (tenure.lost) return false;
      const change = { ...this.#transition(r, a, now, fleet, hosts.find((h) => 'host' in a && h.name === a.host)?.from ?? null), fence: tenure.fence };
      const result = await this.#d.store.changeRollout(change);
      if (!result.ok && result.reason === 'fenced') {
        this.#leases.lose(tenure, `the store refused a ${a.type} under its fencing token`);
        return false;
      }
      if (!result.ok) {
        // Someone else moved first (an operator pause, another step): read again and decide again.
        changed = true;
        break;
      }
      this.#d.publish(result.events);
      changed = true;
      if (a.type === 'push') {
        const wave = hosts.find((h) => h.name === a.host)?.wave ?? r.currentWave;
        this.#launch(result.rollout, a.host, wave, fleet.get(a.host)?.address ?? null, now, false, tenure);
      }
    }
    return changed;
  }

  /** The stored transition of one action: the condition it needs and the event that records it. */
  #transition(r: RolloutRecord, a: Exclude<RolloutAction, { type: 'wait' }>, now: number, fleet: Map<string, FleetHost>, plannedFrom: string | null): RolloutChange {
    const base = { rolloutId: r.id, at: now };
    const running = { whenState: [r.state] as const };
    switch (a.type) {
      case 'start-wave':
        return { ...base, rollout: { ...running, set: { state: a.state, currentWave: a.wave, waveEndedAt: null } }, events: [event(now, { type: 'wave-started', wave: a.wave, message: `wave ${a.wave}${a.state === 'canary' ? ' (canary)' : ''} started` })] };
      case 'end-wave':
        return { ...base, rollout: { ...running, set: { waveEndedAt: a.at } }, events: [event(now, { type: 'wave-ended', wave: a.wave, message: `wave ${a.wave} ended` })] };
      case 'push':
        return {
          ...base, rollout: { ...running, set: {} },
          host: { name: a.host, whenState: ['pending'], set: { state: 'pushing', pushStartedAt: now, startedAt: now, from: fleet.get(a.host)?.release ?? plannedFrom } },
          events: [event(now, { type: 'host-pushing', host: a.host, wave: r.currentWave, message: `pushing ${r.version} to ${a.host}` })],
        };
      case 'mark-unreachable': {
        const err = controllerError('SWARM_ERR_ROLLOUT_HOST_UNREACHABLE', `${a.host}: its updater's channel is down (or it has no address) at its turn; nothing was sent`);
        return {
          ...base, rollout: { ...running, set: {} },
          host: { name: a.host, whenState: ['pending'], set: { state: 'unreachable', error: { code: err.code, message: err.message }, startedAt: now, endedAt: now } },
          events: [event(now, { type: 'host-unreachable', host: a.host, wave: r.currentWave, reason: err.code, message: err.message })],
        };
      }
      case 'pause':
        return {
          ...base, rollout: { ...running, set: { state: 'paused', reason: a.reason } },
          events: [event(now, { type: 'paused', actor: 'system', reason: a.reason, message: a.reason === 'canary-failed' ? 'paused: the canary failed; resume accepts it' : `paused: ${a.failures} failures exceed the budget of ${r.budget}` })],
        };
      case 'finish':
        return { ...base, rollout: { ...running, set: { state: 'done', reason: null, endedAt: now } }, events: [event(now, { type: 'done', message: `done with ${a.failures} failure(s)` })] };
    }
  }

  #wakeAt(id: string, d: Driver, until: number): void {
    if (d.timer) this.#d.clock.clearTimeout(d.timer);
    d.timer = this.#d.clock.setTimeout(() => {
      d.timer = undefined;
      this.kick(id);
    }, Math.max(0, until - this.#d.clock.now()));
    d.timer.unref?.();
  }

  /**
   * Run one host's push in the background and record how it ended, under the tenure that started it; the rollout
   * decides again after it. A push whose tenure was lost meanwhile still runs to its end (the host's operation is not cut
   * halfway), but its outcome is not written: the new driver settles that host from its updater's records.
   */
  #launch(r: RolloutRecord, host: string, wave: number, address: string | null, startedAt: number, resume: boolean, tenure: Tenure): void {
    const key = `${r.id}/${host}`;
    const started = this.#d.clock.now();
    const run = async (): Promise<void> => {
      let outcome: PushOutcome;
      try {
        outcome = await this.#d.push({ host, address, releaseId: r.releaseId, kind: r.kind, startedAt, deadlineMs: r.strategy.hostDeadlineMs, signal: this.#stop.signal, ...(resume ? { resume } : {}) });
      } catch (err) {
        if (this.#closed) return;
        const e = controllerError('SWARM_ERR_ROLLOUT_PUSH_FAILED', `${host}: ${(err as Error).message}`);
        outcome = { state: 'failed', error: { code: e.code, message: e.message } };
      }
      if (this.#closed || tenure.lost) return;
      const now = this.#d.clock.now();
      const result = await this.#d.store.changeRollout({
        rolloutId: r.id, at: now, fence: tenure.fence,
        host: { name: host, whenState: ['pushing'], set: { state: outcome.state, error: 'error' in outcome ? outcome.error : null, endedAt: now } },
        events: [outcomeEvent(now, host, wave, outcome, r.version)],
      });
      if (!result.ok && result.reason === 'fenced') return this.#leases.lose(tenure, `the store refused ${host}'s outcome under its fencing token`);
      if (result.ok) this.#d.publish(result.events);
      this.#d.onSettled?.(outcome.state, (now - started) / 1000);
    };
    const p = run()
      .catch((err: unknown) => {
        if (!this.#closed) this.#d.logger.error({ err, rollout: r.id, host }, 'recording a push outcome failed');
      })
      .finally(() => {
        // A later tenure may have started its own push (a settle) for this host meanwhile: that one stays listed.
        if (this.#inFlight.get(key) === p) this.#inFlight.delete(key);
        this.kick(r.id);
      });
    this.#inFlight.set(key, p);
  }
}
