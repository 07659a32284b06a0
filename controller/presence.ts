// Which channels are open on some replica: this process's own (the hub) and, on a shared database, those the other
// replicas record in the store (written and read every replicas.presence-interval).
import type { Logger } from 'pino';
import type { ChannelRole } from '../shared/channel-protocol.js';
import type { Clock } from '../shared/clock.js';
import { LIMITS } from '../shared/limits.js';
import type { ChannelHub } from './channels.js';
import { isSharedStore, type ChannelPresenceKey, type Store } from './store/index.js';

export interface PresenceOptions {
  hub: ChannelHub;
  store: Store;
  /** This process's id among the replicas. */
  replica: string;
  clock: Clock;
  logger: Logger;
  /** Defaults: LIMITS replicas.presence-*. */
  intervalMs?: number;
  ttlMs?: number;
  reapAfterMs?: number;
}

const keyOf = (role: string, host: string): string => `${role}/${host}`;

export class ChannelPresence {
  readonly #o: Required<PresenceOptions>;
  /** What the store holds as this replica's channels (after the last successful write). */
  #written = new Map<string, ChannelPresenceKey>();
  /** Channels open on other replicas, as last read, and when that read was made. */
  #remote = new Map<string, number>();
  #readAt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: PresenceOptions) {
    this.#o = {
      intervalMs: LIMITS['replicas.presence-interval'].value,
      ttlMs: LIMITS['replicas.presence-ttl'].value,
      reapAfterMs: LIMITS['replicas.presence-reap-after'].value,
      ...options,
    };
  }

  get replica(): string {
    return this.#o.replica;
  }

  /** On a shared database, sync every interval (nothing to share on SQLite: the hub is all there is). */
  start(): void {
    if (!isSharedStore(this.#o.store)) return;
    const tick = (): void => {
      void this.sync().finally(() => {
        if (this.#closed) return;
        this.#timer = this.#o.clock.setTimeout(tick, this.#o.intervalMs);
        this.#timer.unref?.();
      });
    };
    tick();
  }

  /** Whether the host's channel of this role is open on this replica or, as last read, on another alive one. */
  isOpen(role: ChannelRole, host: string): boolean {
    return this.#o.hub.isOpen(role, host) || (this.#remoteFresh() && this.#remote.has(keyOf(role, host)));
  }

  /** Channels open on some replica, by role (a channel counts once even while it moves between replicas). */
  counts(): { agent: number; updater: number } {
    const keys = new Set(this.#o.hub.openChannels().map((c) => keyOf(c.role, c.host)));
    if (this.#remoteFresh()) for (const k of this.#remote.keys()) keys.add(k);
    let agent = 0;
    for (const k of keys) if (k.startsWith('agent/')) agent++;
    return { agent, updater: keys.size - agent };
  }

  /** Write this replica's channel changes and read the others' now (one at a time; never rejects: failures are logged). */
  sync(): Promise<void> {
    this.#syncing = this.#syncing.then(() => this.#sync());
    return this.#syncing;
  }

  /** Stop syncing and forget this replica's record (its channels close with it). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    await this.#syncing;
    if (isSharedStore(this.#o.store)) await this.#o.store.dropReplica(this.#o.replica).catch(() => undefined);
  }

  /** A read older than the TTL (the database unreachable meanwhile) says nothing about the other replicas any more. */
  #remoteFresh(): boolean {
    return this.#o.clock.now() - this.#readAt < this.#o.ttlMs;
  }

  async #sync(): Promise<void> {
    if (this.#closed) return;
    const { store, replica, clock } = this.#o;
    const open = new Map(this.#o.hub.openChannels().map((c) => [keyOf(c.role, c.host), { role: c.role, hostName: c.host }]));
    const opened = [...open].filter(([k]) => !this.#written.has(k)).map(([, v]) => v);
    const closed = [...this.#written].filter(([k]) => !open.has(k)).map(([, v]) => v);
    try {
      const now = clock.now();
      const { known } = await store.savePresence(replica, now, { opened, closed }, now - this.#o.reapAfterMs);
      // Unknown: whatever was recorded before is gone (reaped); only what was just written is there, the rest next time.
      this.#written = known ? open : new Map(opened.map((v) => [keyOf(v.role, v.hostName), v]));
      const readAt = clock.now();
      const rows = await store.listPresence(readAt - this.#o.ttlMs);
      this.#remote = new Map(rows.filter((r) => r.replica !== replica).map((r) => [keyOf(r.role, r.hostName), readAt]));
      this.#readAt = readAt;
    } catch (err) {
      this.#o.logger.warn({ err, op: 'presence.sync' }, 'could not share channel presence with the other replicas; retrying');
    }
  }
}
