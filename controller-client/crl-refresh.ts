// The CRL fallback on hosts: fetch GET /v1/pki/crl now and then, apply it only when the pinned CA signed it.
// The channel pushes revocations at once; this reaches a host whose channel is down (refused, cut, partitioned).
import type { Logger } from 'pino';
import { request } from 'undici';
import { buildDispatcher } from '../shared/dispatcher.js';
import { systemClock, type Clock } from '../shared/clock.js';
import type { HostRevocation } from './host-revocation.js';
import { tryControllersInOrder, type ControllerUrls } from './controller-urls.js';
import { LIMITS } from '../shared/limits.js';
import { requireHttpsController } from '../shared/https-url.js';
import { remoteError } from '../shared/remote-errors.js';
import type { TlsMaterial } from '../shared/tls.js';

export interface CrlRefreshOptions {
  /** One URL or several (replicas): tried in order, moving on only when one cannot be reached. */
  controllerUrl: ControllerUrls;
  material: () => TlsMaterial;
  revocation: HostRevocation;
  logger: Logger;
  clock?: Clock;
  /** Default LIMITS['revocation.crlRefreshInterval']; tests shorten it. */
  intervalMs?: number;
}

export interface CrlRefresh {
  /** Fetch and apply the CRL now; resolves with the serials it added (throws on a refused or unreachable CRL). */
  refreshNow(): Promise<string[]>;
  stop(): void;
}

/** GET the CRL as text from the first controller reached (each URL in order), refusing an answer past the size cap. */
export async function fetchCrl(controllerUrls: ControllerUrls, material: TlsMaterial, isRevoked: (serial: string) => boolean): Promise<string> {
  return tryControllersInOrder(controllerUrls, (url) => fetchCrlFrom(url, material, isRevoked));
}

async function fetchCrlFrom(controllerUrl: string, material: TlsMaterial, isRevoked: (serial: string) => boolean): Promise<string> {
  const timeoutMs = LIMITS['revocation.crlFetchTimeout'].value;
  const maxBytes = LIMITS['revocation.crlMaxBytes'].value;
  requireHttpsController(controllerUrl, 'fetch the CRL');
  const url = new URL('/v1/pki/crl', controllerUrl);
  const dispatcher = buildDispatcher(material, { expect: { role: 'controller' }, connections: 1, connectTimeoutMs: timeoutMs, isRevoked });
  try {
    const res = await request(url, { dispatcher, signal: AbortSignal.timeout(timeoutMs), headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw remoteError('SWARM_ERR_CONTROLLER_RESPONSE', `controller answered ${res.statusCode} to GET /v1/pki/crl`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        res.body.destroy();
        throw remoteError('SWARM_ERR_CONTROLLER_RESPONSE', `the CRL from ${controllerUrl} is larger than ${maxBytes} bytes; refusing it`);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await dispatcher.close().catch(() => undefined);
  }
}

/** Fetch at once, then every interval; a failure is logged and the host keeps the denylist it has. */
export function startCrlRefresh(options: CrlRefreshOptions): CrlRefresh {
  const clock = options.clock ?? systemClock;
  const intervalMs = options.intervalMs ?? LIMITS['revocation.crlRefreshInterval'].value;
  const log = options.logger.child({ op: 'crl' });
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<string[]> | undefined;

  const refreshNow = (): Promise<string[]> => {
    running ??= (async () => {
      const pem = await fetchCrl(options.controllerUrl, options.material(), options.revocation.isRevoked);
      return options.revocation.applyCrl(pem);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  const tick = (): void => {
    timer = undefined;
    refreshNow().then(
      (added) => log.debug({ added: added.length, crlNumber: options.revocation.crlNumber }, 'CRL applied'),
      (err: unknown) => log.warn({ err }, 'CRL refresh failed; keeping the current denylist'),
    ).finally(() => {
      if (stopped) return;
      timer = clock.setTimeout(tick, intervalMs);
      timer.unref?.();
    });
  };
  tick();

  return {
    refreshNow,
    stop() {
      stopped = true;
      if (timer) clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}
