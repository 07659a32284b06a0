// The dashboard's live state, shared by every open tab: one poll of the host list and fleet summary per interval
// (only while a browser watches), one connection to the controller's rollout event stream, and the controller's
// reachability. Browsers get diffs and batches, never the raw flood: 5,000 hosts reporting make one message per poll.
import { backoffDelay } from '../../shared/backoff.js';
import { pause } from '../../shared/clock.js';
import { LIMITS } from '../../shared/limits.js';
import type { FleetStatus, HostView } from '../../shared/operator-api.js';
import { FleetStatusSchema } from '../../shared/operator-api.js';
import { HostListSchema, type DashboardSource, type StreamEvent } from './source.js';
import type { ControllerHealth, HostSnapshot } from './wire.js';

export type { ControllerHealth, HostSnapshot };

export interface HubLimits {
  pollMs: number;
  batchMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const HUB_LIMITS: HubLimits = {
  pollMs: LIMITS['dashboard.hosts-poll-interval'].value,
  batchMs: LIMITS['dashboard.event-batch-interval'].value,
  backoffBaseMs: LIMITS['cli.watch-backoff-base'].value,
  backoffMaxMs: LIMITS['cli.watch-backoff-max'].value,
};

/** What a browser stream receives: an event name and its JSON data. */
export type HubMessage =
  | { event: 'health'; data: ControllerHealth }
  | { event: 'hosts'; data: { version: number; base: number; changed: HostView[]; removed: string[]; status: FleetStatus } }
  | { event: 'rollouts'; data: { resync: boolean; events: StreamEvent[] } };

export type HubListener = (m: HubMessage) => void;

export class LiveHub {
  readonly #source: DashboardSource;
  readonly #limits: HubLimits;
  readonly #listeners = new Set<HubListener>();
  #snapshot: HostSnapshot | undefined;
  #byName = new Map<string, string>();
  #inflight: Promise<HostSnapshot> | undefined;
  #health: ControllerHealth = { ok: true, message: null, since: new Date().toISOString() };
  #stop: AbortController | undefined;
  #pending: StreamEvent[] = [];
  #resync = false;
  #flushTimer: NodeJS.Timeout | undefined;

  constructor(source: DashboardSource, limits: HubLimits = HUB_LIMITS) {
    this.#source = source;
    this.#limits = limits;
  }

  get health(): ControllerHealth {
    return this.#health;
  }

  /** The host list and fleet summary: the last poll's when fresh, else read now (concurrent callers share one read). */
  async hosts(): Promise<HostSnapshot> {
    const snap = this.#snapshot;
    if (snap && Date.now() - Date.parse(snap.at) < this.#limits.pollMs && this.#health.ok) return snap;
    return this.#refresh();
  }

  /** Follow the live state; the first listener starts the poll and the event stream, the last one stops them. */
  subscribe(listener: HubListener): () => void {
    this.#listeners.add(listener);
    listener({ event: 'health', data: this.#health });
    if (this.#listeners.size === 1) this.#start();
    return () => {
      if (!this.#listeners.delete(listener)) return;
      if (this.#listeners.size === 0) this.#halt();
    };
  }

  get listeners(): number {
    return this.#listeners.size;
  }

  close(): void {
    this.#listeners.clear();
    this.#halt();
  }

  #broadcast(m: HubMessage): void {
    for (const l of [...this.#listeners]) l(m);
  }

  #setHealth(ok: boolean, message: string | null): void {
    if (this.#health.ok === ok && this.#health.message === message) return;
    this.#health = { ok, message, since: new Date().toISOString() };
    this.#broadcast({ event: 'health', data: this.#health });
  }

  #refresh(): Promise<HostSnapshot> {
    this.#inflight ??= this.#read().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #read(): Promise<HostSnapshot> {
    let hosts: HostView[];
    let status: FleetStatus;
    try {
      [hosts, status] = await Promise.all([this.#source.read('/v1/hosts', HostListSchema), this.#source.read('/v1/status', FleetStatusSchema)]);
    } catch (err) {
      this.#setHealth(false, (err as Error).message);
      throw err;
    }
    this.#setHealth(true, null);
    // Only what changed goes to the browsers: a host's JSON compared with the last poll's.
    const next = new Map<string, string>();
    const changed: HostView[] = [];
    for (const h of hosts) {
      const json = JSON.stringify(h);
      next.set(h.name, json);
      if (this.#byName.get(h.name) !== json) changed.push(h);
    }
    const removed = [...this.#byName.keys()].filter((n) => !next.has(n));
    const prev = this.#snapshot;
    const statusChanged = !prev || JSON.stringify(prev.status) !== JSON.stringify(status);
    const version = !prev ? 1 : changed.length > 0 || removed.length > 0 || statusChanged ? prev.version + 1 : prev.version;
    this.#byName = next;
    this.#snapshot = { version, at: new Date().toISOString(), hosts, status };
    if (prev && version !== prev.version) this.#broadcast({ event: 'hosts', data: { version, base: prev.version, changed, removed, status } });
    return this.#snapshot;
  }

  #start(): void {
    const stop = new AbortController();
    this.#stop = stop;
    void this.#pollLoop(stop.signal);
    void this.#streamLoop(stop.signal);
  }

  #halt(): void {
    this.#stop?.abort();
    this.#stop = undefined;
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#pending = [];
  }

  async #pollLoop(signal: AbortSignal): Promise<void> {
    // A tab that reloads finds the last poll still fresh: it waits for the next one instead of adding a read.
    const snap = this.#snapshot;
    if (snap && this.#health.ok) await pause(Date.parse(snap.at) + this.#limits.pollMs - Date.now(), signal);
    while (!signal.aborted) {
      await this.#refresh().catch(() => undefined);
      await pause(this.#limits.pollMs, signal);
    }
  }

  async #streamLoop(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let first = true;
    while (!signal.aborted) {
      let opened = false;
      try {
        await this.#source.streamEvents(signal, (e) => this.#queue(e), () => {
          if (opened) return;
          opened = true;
          failures = 0;
          // Events may have been missed while the stream was down: the page re-reads what it shows.
          if (!first) this.#queue(undefined);
          first = false;
        });
      } catch {
        // The poll reports the controller's state to the page; the stream only comes back.
      }
      if (signal.aborted) break;
      failures += 1;
      first = false;
      await pause(backoffDelay(failures - 1, { baseMs: this.#limits.backoffBaseMs, capMs: this.#limits.backoffMaxMs }), signal);
    }
  }

  /** Batch events (undefined: a resync) into one message per batch interval. */
  #queue(e: StreamEvent | undefined): void {
    if (e) this.#pending.push(e);
    else this.#resync = true;
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      const events = this.#pending;
      const resync = this.#resync;
      this.#pending = [];
      this.#resync = false;
      this.#broadcast({ event: 'rollouts', data: { resync, events } });
    }, this.#limits.batchMs);
  }
}
