// The one rule for a controller URL: https only, no credentials, normalised without a trailing slash.
import { z } from 'zod';
import { EXAMPLE_CONTROLLER_URL } from './defaults.js';
import { LIMITS } from './limits.js';
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

/** Most controller URLs one client takes (replicas, DESIGN.md §9). */
export const MAX_CONTROLLER_URLS = LIMITS['clients.controller-urls'].value;

/** A refusal names the bad entry (`value`) when the input held several (`among`): with one, the caller already shows it. */
export type HttpsUrlListVerdict = { ok: true; urls: string[] } | { ok: false; value: string; reason: string; among: boolean };

/**
 * Judge a list of controller URLs: a repeated flag, a config array, or entries separated by commas (the form an
 * environment variable can carry). Each is judged by checkHttpsUrl; duplicates are dropped, order is kept.
 */
export function checkHttpsUrlList(values: string | readonly string[]): HttpsUrlListVerdict {
  const entries = (typeof values === 'string' ? [values] : values).flatMap((v) => v.split(',')).map((v) => v.trim());
  const urls: string[] = [];
  for (const entry of entries) {
    const verdict = checkHttpsUrl(entry);
    if (!verdict.ok) return { ok: false, value: entry, reason: verdict.reason, among: entries.length > 1 };
    if (!urls.includes(verdict.url)) urls.push(verdict.url);
  }
  if (urls.length === 0) return { ok: false, value: '', reason: 'is empty', among: false };
  if (urls.length > MAX_CONTROLLER_URLS) return { ok: false, value: entries.join(','), reason: `names ${urls.length} controllers, more than ${MAX_CONTROLLER_URLS}`, among: false };
  return { ok: true, urls };
}

/** The zod schema of one or several controller URLs (a string, comma-separated or not, or an array): a list out. */
export function httpsUrlList(why?: string) {
  const suffix = why ? ` (${why})` : '';
  return z.union([z.string(), z.array(z.string()).min(1)]).transform((value, ctx) => {
    const verdict = checkHttpsUrlList(value);
    if (verdict.ok) return verdict.urls;
    const message = verdict.reason.startsWith('names ') ? verdict.reason : verdict.among ? `${JSON.stringify(verdict.value)} ${HTTPS_URL_MESSAGE}` : HTTPS_URL_MESSAGE;
    ctx.addIssue({ code: 'custom', message: `${message}${suffix}` });
    return z.NEVER;
  });
}

/** Controller URLs from a repeated flag, a comma-separated environment variable or a config file (string or array). */
export const HttpsUrlListSchema = httpsUrlList();
