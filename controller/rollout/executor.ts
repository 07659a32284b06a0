// The thin loop over decideRollout: read the stored rollout, decide, write each transition, then act (pushes run in
// the background); re-run on every settled push, operator action and due timer. After a restart, hosts found
// `pushing` are settled from their updaters' records (resume), never pushed blind.
import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.js';
import type { NewRolloutEvent, RolloutChange, RolloutEventRecord, RolloutRecord, Store } from '../store/index.js';
import { LIMITS } from '../../shared/limits.js';
import { controllerError } from '../errors.js';
import type { PushRequest } from './push.js';
import type { PushOutcome } from './push-outcome.js';
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
  #closed = false;

  constructor(deps: ExecutorDeps) {
    this.#d = deps;
  }

  /** Load every unsettled rollout: hosts found pushing are settled from their records first, then each rollout goes on. */
  async resume(): Promise<void> {
    const fleet = await this.#fleetByName();
    for (const r of await this.#d.store.listRollouts({ unsettled: true })) {
      const pushing = (await this.#d.store.listRolloutHosts(r.id)).filter((h) => h.state === 'pushing' && !this.#inFlight.has(`${r.id}/${h.name}`));
      for (const h of pushing) {
        this.#d.logger.info({ rollout: r.id, host: h.name }, 'found the host pushing after a restart; settling it from its updater\'s records');
        this.#launch(r, h.name, h.wave, fleet.get(h.name)?.address ?? null, h.pushStartedAt ?? this.#d.clock.now(), true);
      }
      // A resumed push kicks its rollout when it settles: nothing new starts before the records were read.
      if (pushing.length === 0) this.kick(r.id);
    }
  }

  /** Decide again for this rollout (coalesced: one run at a time, re-run when kicked meanwhile). */
  kick(id: string): void {
    if (this.#closed) return;
    let d = this.#drivers.get(id);
    if (!d) this.#drivers.set(id, (d = { running: false, again: false, timer: undefined }));
    if (d.running) {
      d.again = true;
      return;
    }
    d.running = true;
    void this.#run(id, d);
  }

  /** The push in flight for a host of a rollout, if this process runs one. */
  inFlight(id: string, host: string): Promise<void> | undefined {
    return this.#inFlight.get(`${id}/${host}`);
  }

  /** Stop deciding; pushes in flight are abandoned (their hosts stay `pushing`, settled after the restart). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const d of this.#drivers.values()) if (d.timer) this.#d.clock.clearTimeout(d.timer);
    this.#stop.abort(new Error('the controller is stopping'));
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  async #run(id: string, d: Driver): Promise<void> {
    try {
      for (let i = 0; i < MAX_STEPS_PER_KICK && !this.#closed; i++) {
        d.again = false;
        const changed = await this.#step(id, d);
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
  async #step(id: string, d: Driver): Promise<boolean> {
    const r = await this.#d.store.getRollout(id);
    if (!r) return false;
    const hosts = await this.#d.store.listRolloutHosts(id);
    if (!ACTIVE.includes(r.state)) return false;
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
    let changed = false;
    for (const a of actions) {
      if (a.type === 'wait') {
        // A channel coming back kicks nothing: while a host waits for it, look again every recheck interval.
        const recheck = reconnecting.size > 0 ? now + LIMITS['rollout.reconnect-recheck'].value : null;
        const until = a.until === null ? recheck : recheck === null ? a.until : Math.min(a.until, recheck);
        if (until !== null) this.#wakeAt(id, d, until);
        continue;
      }
      const change = this.#transition(r, a, now, fleet, hosts.find((h) => 'host' in a && h.name === a.host)?.from ?? null);
      const result = await this.#d.store.changeRollout(change);
      if (!result.ok) {
        // Someone else moved first (an operator pause, another step): read again and decide again.
        changed = true;
        break;
      }
      this.#d.publish(result.events);
      changed = true;
      if (a.type === 'push') {
        const wave = hosts.find((h) => h.name === a.host)?.wave ?? r.currentWave;
        this.#launch(result.rollout, a.host, wave, fleet.get(a.host)?.address ?? null, now, false);
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

  /** Run one host's push in the background and record how it ended; the rollout decides again after it. */
  #launch(r: RolloutRecord, host: string, wave: number, address: string | null, startedAt: number, resume: boolean): void {
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
      if (this.#closed) return;
      const now = this.#d.clock.now();
      const result = await this.#d.store.changeRollout({
        rolloutId: r.id, at: now,
        host: { name: host, whenState: ['pushing'], set: { state: outcome.state, error: 'error' in outcome ? outcome.error : null, endedAt: now } },
        events: [outcomeEvent(now, host, wave, outcome, r.version)],
      });
      if (result.ok) this.#d.publish(result.events);
      this.#d.onSettled?.(outcome.state, (now - started) / 1000);
    };
    const p = run()
      .catch((err: unknown) => {
        if (!this.#closed) this.#d.logger.error({ err, rollout: r.id, host }, 'recording a push outcome failed');
      })
      .finally(() => {
        this.#inFlight.delete(key);
        this.kick(r.id);
      });
    this.#inFlight.set(key, p);
  }
}
