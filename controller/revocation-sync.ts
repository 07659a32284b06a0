// Revocation across replicas: what this process revokes is announced to the others (the store's revocation feed:
// LISTEN/NOTIFY on PostgreSQL), what they revoke is applied here at once, and a periodic re-read of the serials revoked
// lately catches a notice lost while the feed was down. On SQLite (one process) it does nothing.
import type { Logger } from 'pino';
import type { Clock } from '../shared/clock.js';
import { LIMITS } from '../shared/limits.js';
import { isSharedStore, type RevocationFeed, type Store } from './store/index.js';

/** Serials to refuse from now on, and the host they belonged to when it was removed. */
export interface RevokedSerials {
  serials: readonly string[];
  host?: string;
}

export interface RevocationSyncOptions {
  store: Store;
  /** This process's id among the replicas (its own notices come back to it and are skipped). */
  replica: string;
  clock: Clock;
  logger: Logger;
  /** Apply revocations made elsewhere (idempotent: serials already refused here are no news). */
  apply(revoked: RevokedSerials): void;
  /** Defaults: LIMITS revocation.replica-poll-*. */
  pollIntervalMs?: number;
  pollOverlapMs?: number;
}

export class RevocationSync {
  readonly #o: Required<RevocationSyncOptions>;
  #feed: RevocationFeed | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** When the last re-read started (this clock); the next asks from there minus the overlap. */
  #polledAt: number;

  constructor(options: RevocationSyncOptions) {
    this.#o = {
      pollIntervalMs: LIMITS['revocation.replica-poll-interval'].value,
      pollOverlapMs: LIMITS['revocation.replica-poll-overlap'].value,
      ...options,
    };
    this.#polledAt = options.clock.now();
  }

  /** Listen for the other replicas' revocations and start the periodic re-read (shared databases only). */
  async start(): Promise<void> {
    const { store, replica, logger } = this.#o;
    if (!isSharedStore(store)) return;
    this.#feed = await store.openRevocationFeed({
      notice: (n) => {
        if (n.origin === replica) return;
        logger.info({ op: 'revoke', from: n.origin, host: n.host, serials: n.serials.length }, 'revocation announced by another replica');
        this.#apply({ serials: n.serials, ...(n.host !== undefined ? { host: n.host } : {}) });
      },
      resync: () => void this.#read(undefined),
      error: (err) => logger.warn({ err, op: 'revoke.listen' }, 'revocation listener: reconnecting; the periodic re-read covers the gap'),
    });
    const tick = (): void => {
      const since = this.#polledAt - this.#o.pollOverlapMs;
      this.#polledAt = this.#o.clock.now();
      void this.#read(since).finally(() => {
        if (this.#closed) return;
        this.#timer = this.#o.clock.setTimeout(tick, this.#o.pollIntervalMs);
        this.#timer.unref?.();
      });
    };
    this.#timer = this.#o.clock.setTimeout(tick, this.#o.pollIntervalMs);
    this.#timer.unref?.();
  }

  /** Tell the other replicas (never rejects: a lost notice is caught by their re-read). */
  async publish(revoked: RevokedSerials): Promise<void> {
    if (!this.#feed || this.#closed || revoked.serials.length === 0) return;
    try {
      await this.#feed.publish({ origin: this.#o.replica, serials: [...revoked.serials], ...(revoked.host !== undefined ? { host: revoked.host } : {}) });
    } catch (err) {
      this.#o.logger.warn({ err, op: 'revoke.notify', host: revoked.host }, 'could not announce a revocation to the other replicas; they find it at their next re-read');
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    await this.#feed?.close();
  }

  /** Re-read revoked serials (all of them, or since a time) and apply what is new here. */
  async #read(sinceMs: number | undefined): Promise<void> {
    if (this.#closed) return;
    try {
      const rows = await this.#o.store.listRevoked(sinceMs === undefined ? {} : { sinceMs });
      if (rows.length > 0) this.#apply({ serials: rows.map((r) => r.serial) });
    } catch (err) {
      this.#o.logger.warn({ err, op: 'revoke.poll' }, 'could not re-read revoked serials; retrying');
    }
  }

  #apply(revoked: RevokedSerials): void {
    try {
      this.#o.apply(revoked);
    } catch (err) {
      this.#o.logger.error({ err, op: 'revoke' }, 'applying a revocation from another replica failed');
    }
  }
}
