// Automatic certificate renewal at 2/3 of the lifetime, with jitter: new key, atomic files, then onRenewed.
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
// pki/ files imported directly (not pki/index.js): the index loads the CRL signer, which clients never need.
import { createCsr, generateKeyPair, NOT_BEFORE_SKEW_MS } from '../pki/index.js';
import { backoffDelay } from '../shared/backoff.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { callController } from './controller-request.js';
import { tryControllersInOrder, type ControllerUrls } from './controller-urls.js';
import { RenewResponseSchema } from '../shared/enroll-protocol.js';
import { remoteError } from '../shared/remote-errors.js';
import { writeFileAtomic, writePrivateKeyFile } from '../shared/files.js';
import { checkTlsMaterial, type TlsMaterial } from '../shared/tls.js';
import { buildDispatcher } from '../shared/dispatcher.js';

export interface RenewalOptions {
  /** One URL or several (replicas): tried in order, moving on only when one cannot be reached. */
  controllerUrl: ControllerUrls;
  /** The PKI directory holding ca.crt, <base>.crt, <base>.key; renewed files are written there atomically. */
  pkiDir: string;
  base: 'agent' | 'updater' | 'operator';
  material: () => TlsMaterial;
  /** Called after the new key and certificate are on disk. */
  onRenewed: (material: TlsMaterial) => void | Promise<void>;
  logger: Logger;
  clock?: Clock;
  /** Random source in [0, 1) for jitter and backoff (tests pin it). */
  random?: () => number;
  /** Backoff between failed attempts: base and cap (default 1 s, 5 min; never past a quarter of the time left). */
  retryBaseMs?: number;
  retryCapMs?: number;
  /** Refuse a controller whose certificate serial is revoked (the host's denylist). */
  isRevoked?: (serial: string) => boolean;
}

export interface Renewal {
  stop(): void;
  renewNow(): Promise<TlsMaterial>;
}

/** Lifetime as issued: notBefore is backdated for clock skew, which is not lifetime. */
export function certificateWindow(certPem: string): { issuedAt: number; notAfter: number } {
  const cert = new X509Certificate(certPem);
  const notAfter = Date.parse(cert.validTo);
  return { issuedAt: Math.min(Date.parse(cert.validFrom) + NOT_BEFORE_SKEW_MS, notAfter), notAfter };
}

/**
 * When to renew: at 2/3 of the lifetime, moved by up to ±10% of the time then left, never in the past.
 * Pure, so the schedule can be tested alone.
 */
export function renewalDelay(window: { issuedAt: number; notAfter: number }, now: number, random: () => number = Math.random): number {
  const target = window.issuedAt + ((window.notAfter - window.issuedAt) * 2) / 3;
  const remaining = Math.max(window.notAfter - now, 0);
  const jitter = (random() * 2 - 1) * 0.1 * remaining;
  return Math.max(0, Math.round(target - now + jitter));
}

/** Fraction of the lifetime left, for "renew when less than a third remains" (swarmctl). */
export function lifetimeLeft(certPem: string, now: number): number {
  const w = certificateWindow(certPem);
  return (w.notAfter - now) / Math.max(w.notAfter - w.issuedAt, 1);
}

/** Renew once: fresh key and CSR, POST /v1/pki/renew over the current identity, key then cert written atomically. */
export async function renewIdentity(options: Pick<RenewalOptions, 'controllerUrl' | 'pkiDir' | 'base' | 'isRevoked'> & { material: TlsMaterial }): Promise<TlsMaterial> {
  const current = options.material;
  const key = await generateKeyPair();
  const csr = createCsr({ keyPem: key.privateKeyPem, publicKeyPem: key.publicKeyPem, commonName: current.identity.name });
  const dispatcher = buildDispatcher(current, { expect: { role: 'controller' }, connections: 1, ...(options.isRevoked ? { isRevoked: options.isRevoked } : {}) });
  let res;
  try {
    res = await tryControllersInOrder(options.controllerUrl, (baseUrl) => callController({ baseUrl, path: '/v1/pki/renew', body: { csr }, dispatcher }, RenewResponseSchema));
  } finally {
    await dispatcher.close();
  }
  const next = checkTlsMaterial({ ca: current.ca, cert: res.cert, key: key.privateKeyPem }, `${options.pkiDir}/${options.base}`, current.identity.cluster);
  if (next.identity.role !== current.identity.role || next.identity.name !== current.identity.name) {
    throw remoteError('SWARM_ERR_CONTROLLER_RESPONSE', `renewal returned ${next.identity.role}/${next.identity.name} instead of ${current.identity.role}/${current.identity.name}`);
  }
  // Key first, certificate last: a reader that sees the new certificate finds its key.
  await writePrivateKeyFile(join(options.pkiDir, `${options.base}.key`), key.privateKeyPem);
  await writeFileAtomic(join(options.pkiDir, `${options.base}.crt`), res.cert, 0o644);
  return next;
}

export function startRenewal(options: RenewalOptions): Renewal {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const log = options.logger.child({ op: 'renew', role: options.base });
  let latest: TlsMaterial | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let inFlight: Promise<TlsMaterial> | undefined;
  let failures = 0;

  /** The newest identity we know: our own last renewal, or whatever the caller holds if newer. */
  const current = (): TlsMaterial => {
    const given = options.material();
    return latest && latest.notAfter > given.notAfter ? latest : given;
  };

  const schedule = (delay: number): void => {
    if (stopped) return;
    if (timer) clock.clearTimeout(timer);
    timer = clock.setTimeout(() => {
      timer = undefined;
      renewNow().catch(() => undefined); // logged and retried inside
    }, delay);
    timer.unref?.();
  };

  const scheduleNext = (): void => {
    const m = current();
    const delay = renewalDelay(certificateWindow(m.cert), clock.now(), random);
    log.debug({ inMs: delay }, 'next certificate renewal scheduled');
    schedule(delay);
  };

  const renewNow = (): Promise<TlsMaterial> => {
    if (inFlight) return inFlight;
    inFlight = (async () => {
      try {
        const next = await renewIdentity({ controllerUrl: options.controllerUrl, pkiDir: options.pkiDir, base: options.base, material: current(), ...(options.isRevoked ? { isRevoked: options.isRevoked } : {}) });
        latest = next;
        failures = 0;
        log.info({ serial: next.serial, notAfter: new Date(next.notAfter).toISOString() }, 'certificate renewed');
        await options.onRenewed(next);
        scheduleNext();
        return next;
      } catch (err) {
        const left = current().notAfter - clock.now();
        const cap = Math.max(250, Math.min(options.retryCapMs ?? 300_000, left / 4));
        const delay = Math.max(100, backoffDelay(failures++, { baseMs: options.retryBaseMs ?? 1000, capMs: cap }, random));
        log.warn({ err, retryInMs: delay }, 'certificate renewal failed; retrying');
        schedule(delay);
        throw err;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  scheduleNext();
  return {
    stop(): void {
      stopped = true;
      if (timer) clock.clearTimeout(timer);
      timer = undefined;
    },
    renewNow,
  };
}
