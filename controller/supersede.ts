// Retiring superseded certificates: after a renewal an identity holds at most its new certificate and the one
// that asked for it; that one is revoked once the new one is in use (plus a short grace).
import type { Clock } from '../shared/clock.js';
import type { Role } from '../shared/identity.js';
import type { CertificateRecord } from './store/index.js';

/**
 * Which certificates of an identity a renewal retires at once: every unrevoked one except the certificate
 * that presented the renewal and the one just issued. Pure. A stolen certificate that renews over and over
 * thus never holds more than two valid certificates, and a renewal by either branch (owner or thief) cuts
 * the other: the conflict shows up as a broken host rather than a silent second identity.
 */
export function serialsRetiredByRenewal(certs: readonly CertificateRecord[], presenting: string, issued: string): string[] {
  return certs.filter((c) => c.revokedAt === null && c.serial !== presenting && c.serial !== issued).map((c) => c.serial);
}

export interface SupersessionOptions {
  clock: Clock;
  /** How long the presenting certificate stays valid after the new one is first seen (LIMITS renew.superseded-grace). */
  graceMs: number;
  /** Revoke these serials as superseded (records, denylist, live sockets, CRL). */
  retire: (serials: string[]) => void;
}

/**
 * Tracks, per identity, the certificate a renewal replaced until the new one is first used at the controller.
 * The presenting certificate is not revoked at the renewal itself: the renewing process still holds live
 * connections with it, and if the answer is lost it must be able to renew again. Once the new certificate
 * is seen on a connection, the host provably has it; the old one goes after the grace. Pending state is in
 * memory only: after a controller restart the old certificate lives until the next renewal or its expiry.
 */
export class Supersession {
  readonly #o: SupersessionOptions;
  /** New serial -> the serial it replaced and its identity. One entry per identity (a newer renewal replaces it). */
  readonly #pending = new Map<string, { previous: string; identity: string }>();
  readonly #byIdentity = new Map<string, string>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(options: SupersessionOptions) {
    this.#o = options;
  }

  /** A renewal presented `previous` and was issued `next`. */
  renewed(role: Role, name: string, previous: string, next: string): void {
    const identity = `${role}/${name}`;
    const stale = this.#byIdentity.get(identity);
    if (stale !== undefined) this.#pending.delete(stale);
    this.#pending.set(next, { previous, identity });
    this.#byIdentity.set(identity, next);
  }

  /** A connection authenticated with `serial`: if it is a renewed certificate, retire the one it replaced after the grace. */
  seen(serial: string): void {
    const entry = this.#pending.get(serial);
    if (!entry) return;
    this.#pending.delete(serial);
    if (this.#byIdentity.get(entry.identity) === serial) this.#byIdentity.delete(entry.identity);
    const timer = this.#o.clock.setTimeout(() => {
      this.#timers.delete(timer);
      this.#o.retire([entry.previous]);
    }, this.#o.graceMs);
    timer.unref?.();
    this.#timers.add(timer);
  }

  close(): void {
    for (const t of this.#timers) this.#o.clock.clearTimeout(t);
    this.#timers.clear();
  }
}
