// One driver per rollout: the leases this process holds on the rollouts it drives, each renewed on a timer. A lease
// whose renewal is refused (another replica took it over), or that could not be renewed before it expired, is given
// up at once: its tenure is marked lost and the executor writes nothing more under it.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.js';
import { LIMITS } from '../../shared/limits.js';
import type { RolloutFence, Store } from '../store/index.js';

export interface LeaseOptions {
  /** This process among the replicas (default: hostname/pid/random, so logs say who). */
  holder: string;
  /**
   * The only controller on its database (SQLite): at start it takes the leases its dead predecessor left at once
   * instead of waiting for them to expire. Replicas on PostgreSQL never do.
   */
  exclusive: boolean;
  ttlMs: number;
  renewMs: number;
  /** How often a replica looks for unsettled rollouts whose lease expired, to take them over. */
  pollMs: number;
}

export const defaultLeaseOptions = (): LeaseOptions => ({
  holder: `${hostname()}/${process.pid}/${randomBytes(6).toString('hex')}`,
  exclusive: false,
  ttlMs: LIMITS['rollout.lease-ttl'].value,
  renewMs: LIMITS['rollout.lease-renew-interval'].value,
  pollMs: LIMITS['rollout.lease-poll-interval'].value,
});

/** One stretch of driving one rollout: every driver write carries its fence; once `lost`, nothing is written under it. */
export interface Tenure {
  readonly rolloutId: string;
  readonly fence: RolloutFence;
  lost: boolean;
}

interface Held {
  tenure: Tenure;
  timer: NodeJS.Timeout | undefined;
  /** Until when the lease is ours for sure (this process's clock): past it, a failed renewal gives it up. */
  expiresAt: number;
}

export interface LeaseDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  options: LeaseOptions;
  /** A renewal went through: the holder decides again (an operator may have acted on another replica). */
  onRenewed: (rolloutId: string) => void;
}

export class RolloutLeases {
  readonly #d: LeaseDeps;
  readonly #held = new Map<string, Held>();
  #stopped = false;

  constructor(deps: LeaseDeps) {
    this.#d = deps;
  }

  /** The tenure this process drives the rollout under, if any. */
  get(rolloutId: string): Tenure | undefined {
    return this.#held.get(rolloutId)?.tenure;
  }

  /**
   * Take the rollout's lease when it is free or expired (or, `evenIfHeld`, whoever holds it) and keep renewing it: a
   * new tenure, or undefined when not granted (or this process already holds it).
   */
  async acquire(rolloutId: string, evenIfHeld = false): Promise<Tenure | undefined> {
    if (this.get(rolloutId) || this.#stopped) return undefined;
    const { ttlMs, holder } = this.#d.options;
    const now = this.#d.clock.now();
    const granted = await this.#d.store.acquireRolloutLease(rolloutId, holder, now, ttlMs, evenIfHeld ? { evenIfHeld } : {});
    if (!granted) return undefined;
    const tenure: Tenure = { rolloutId, fence: { holder, token: granted.token }, lost: false };
    if (this.#stopped || this.get(rolloutId)) {
      // Stopped (or granted twice) meanwhile: hand it straight back.
      await this.#d.store.releaseRolloutLease(rolloutId, holder, granted.token).catch(() => undefined);
      return undefined;
    }
    const held: Held = { tenure, timer: undefined, expiresAt: now + ttlMs };
    this.#held.set(rolloutId, held);
    this.#schedule(held);
    this.#d.logger.info({ rollout: rolloutId, holder, leaseToken: granted.token }, 'holding the rollout\'s lease: this controller drives it');
    return tenure;
  }

  /** Stop driving under this tenure at once (its lease is gone, or a fenced write was refused); logged once. */
  lose(tenure: Tenure, why: string): void {
    if (tenure.lost) return;
    tenure.lost = true;
    this.#forget(tenure);
    this.#d.logger.warn({ rollout: tenure.rolloutId, holder: tenure.fence.holder, leaseToken: tenure.fence.token, why }, 'lost the rollout\'s lease; no longer driving it');
  }

  /** Give the lease back (the rollout is settled, or the controller stops): another replica may take it at once. */
  async release(tenure: Tenure): Promise<void> {
    if (tenure.lost) return;
    tenure.lost = true;
    this.#forget(tenure);
    await this.#d.store.releaseRolloutLease(tenure.rolloutId, tenure.fence.holder, tenure.fence.token);
  }

  /** Stop renewing (the controller stops); `releaseAll` then gives the leases back. */
  stop(): void {
    this.#stopped = true;
    for (const h of this.#held.values()) if (h.timer) this.#d.clock.clearTimeout(h.timer);
  }

  async releaseAll(): Promise<void> {
    await Promise.allSettled([...this.#held.values()].map((h) => this.release(h.tenure)));
  }

  #forget(tenure: Tenure): void {
    const held = this.#held.get(tenure.rolloutId);
    if (held?.tenure !== tenure) return;
    if (held.timer) this.#d.clock.clearTimeout(held.timer);
    this.#held.delete(tenure.rolloutId);
  }

  /**
   * Still this tenure's by this process's clock? Past the lease's expiry (this process was frozen, or its renewals
   * failed) it renews first: a driver confirms before a transition, so a process waking from a freeze past the TTL
   * starts no push before learning whether another replica took the rollout.
   */
  async confirm(tenure: Tenure): Promise<boolean> {
    const held = this.#held.get(tenure.rolloutId);
    if (!held || held.tenure !== tenure || tenure.lost) return false;
    if (this.#d.clock.now() < held.expiresAt) return true;
    return this.#renew(held);
  }

  #schedule(held: Held): void {
    if (this.#stopped || held.tenure.lost) return;
    if (held.timer) this.#d.clock.clearTimeout(held.timer);
    held.timer = this.#d.clock.setTimeout(() => {
      held.timer = undefined;
      // The next renewal is due renewMs after this one whatever it answers (losing the tenure clears it).
      this.#schedule(held);
      void this.#renew(held).then((ok) => {
        if (ok) this.#d.onRenewed(held.tenure.rolloutId);
      });
    }, this.#d.options.renewMs);
    held.timer.unref?.();
  }

  /** Renew once; false when the tenure is over (lost, or the controller stops). A failure before expiry keeps it. */
  async #renew(held: Held): Promise<boolean> {
    const { tenure } = held;
    const { ttlMs } = this.#d.options;
    const now = this.#d.clock.now();
    let renewed: boolean;
    try {
      renewed = await this.#d.store.renewRolloutLease(tenure.rolloutId, tenure.fence.holder, tenure.fence.token, now, ttlMs);
    } catch (err) {
      if (tenure.lost || this.#stopped) return false;
      if (this.#d.clock.now() >= held.expiresAt) {
        this.lose(tenure, `could not renew it before it expired: ${(err as Error).message}`);
        return false;
      }
      this.#d.logger.warn({ err, rollout: tenure.rolloutId }, 'renewing the rollout\'s lease failed; retrying');
      return true;
    }
    if (tenure.lost || this.#stopped) return false;
    if (!renewed) {
      this.lose(tenure, 'another controller took it over (the renewal was refused)');
      return false;
    }
    held.expiresAt = Math.max(held.expiresAt, now + ttlMs);
    return true;
  }
}
