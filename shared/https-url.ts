// The one rule for a controller URL: https only, no credentials, normalised without a trailing slash.
import { z } from 'zod';
import { EXAMPLE_CONTROLLER_URL } from './defaults.js';
import { remoteError } from './remote-errors.js';

/** What every refusal says; callers add why https matters to them (a join token, a CSR...). */
export const HTTPS_URL_MESSAGE = `must be an https:// URL, for example ${EXAMPLE_CONTROLLER_URL}`;

export type HttpsUrlVerdict = { ok: true; url: string } | { ok: false; reason: string };

/**
 * Judge a controller URL: https (any case), a host, no user or password (they would be logged and sent to
 * whoever answers). Accepted URLs come back as the WHATWG parser writes them, trailing slashes removed, so
 * `new URL('/v1/...', url)` and log lines see one spelling.
 */
export function checkHttpsUrl(value: string): HttpsUrlVerdict {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, reason: 'is not a URL' };
  }
  if (url.protocol !== 'https:') return { ok: false, reason: `is ${url.protocol.replace(/:$/, '')}://, not https://` };
  if (url.hostname === '') return { ok: false, reason: 'has no host' };
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'carries a user name or password' };
  return { ok: true, url: url.href.replace(/\/+$/, '') };
}

/** The zod schema of a controller URL; `why` is appended to the message (e.g. "the join token must not travel in clear"). */
export function httpsUrl(why?: string) {
  const message = why ? `${HTTPS_URL_MESSAGE} (${why})` : HTTPS_URL_MESSAGE;
  return z.string().transform((value, ctx) => {
    const verdict = checkHttpsUrl(value);
    if (verdict.ok) return verdict.url;
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  });
}

/** A controller URL from a flag, an environment variable or a config file. */
export const HttpsUrlSchema = httpsUrl();

/**
 * The last line of defence where a request is sent: a URL that reached this far without passing the schema
 * (a library caller, a test) is refused with SWARM_ERR_CONTROLLER_UNTRUSTED instead of going out in clear.
 */
export function requireHttpsController(baseUrl: string, purpose: string): void {
  let protocol: string | undefined;
  try {
    protocol = new URL(baseUrl).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== 'https:') {
    throw remoteError('SWARM_ERR_CONTROLLER_UNTRUSTED', `controller URL ${baseUrl} is not https://; refusing to ${purpose} without TLS`);
  }
}
