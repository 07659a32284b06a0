// Several controller URLs (replicas, DESIGN.md §9): which failures may move a request to the next one, and trying them in order.
import { SwarmError } from '../shared/errors.js';

/** One URL, a list in preference order, or a function giving the list now (the channel's live URL first). */
export type ControllerUrls = string | readonly string[] | (() => readonly string[]);

export function listControllerUrls(urls: ControllerUrls): readonly string[] {
  const list = typeof urls === 'function' ? urls() : typeof urls === 'string' ? [urls] : urls;
  if (list.length === 0) throw new TypeError('no controller URL');
  return list;
}

/** Failures of the TCP connect or its name lookup: nothing was sent. */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);
/** TLS handshake failures (the request is only written once the handshake is done). */
const TLS_FAILURE = /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|ERR_SSL|expected a controller|SPIFFE|subjectAltName|has been revoked|before secure TLS connection/i;

/**
 * Whether `err` happened before the request reached a controller (refused, connect timeout, DNS, TLS handshake),
 * so sending it to another one cannot do anything twice. A reset or a timeout after the request went out is not:
 * the controller may have acted on it.
 */
export function failedToConnect(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (CONNECT_CODES.has(code)) return true;
    if (e instanceof SwarmError) {
      if (code === 'SWARM_ERR_CONTROLLER_UNTRUSTED') return true;
      continue;
    }
    if (TLS_FAILURE.test(`${code} ${typeof e.message === 'string' ? e.message : ''}`)) return true;
  }
  return false;
}

/**
 * Run `attempt` against each URL in order until one is reached: only a failure to connect moves on (a controller
 * that answered, even with an error, is never asked again elsewhere). Throws the last failure when none is reached.
 */
export async function tryControllersInOrder<T>(urls: ControllerUrls, attempt: (url: string) => Promise<T>, onMove?: (url: string, err: unknown) => void): Promise<T> {
  const list = listControllerUrls(urls);
  let last: unknown;
  for (const [i, url] of list.entries()) {
    try {
      return await attempt(url);
    } catch (err) {
      last = err;
      if (i === list.length - 1 || !failedToConnect(err)) throw err;
      onMove?.(url, err);
    }
  }
  throw last;
}
