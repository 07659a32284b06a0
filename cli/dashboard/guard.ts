// The dashboard's door, as one pure decision: which requests the local web server answers (its Host, its Origin, its
// method, its token), each refusal with its own code. The server only applies the verdict.
import { timingSafeEqual } from 'node:crypto';

export interface GuardPolicy {
  /** `host:port` values a request may name in `Host` (the loopback names of the bound port), lower case. */
  readonly hosts: ReadonlySet<string>;
  /** The secret printed in the URL. */
  readonly token: string;
}

export interface GuardInput {
  readonly method: string;
  readonly host: string | undefined;
  readonly origin: string | undefined;
  /** The token the request carries (cookie, `?token=` or `Authorization: Bearer`), if any. */
  readonly token: string | undefined;
}

export type GuardCode = 'SWARM_ERR_DASHBOARD_FOREIGN_HOST' | 'SWARM_ERR_DASHBOARD_FOREIGN_ORIGIN' | 'SWARM_ERR_DASHBOARD_READ_ONLY' | 'SWARM_ERR_DASHBOARD_NO_TOKEN';
export type GuardVerdict = { readonly ok: true } | { readonly ok: false; readonly code: GuardCode; readonly message: string };

const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/** Loopback names a browser may use for a dashboard bound to `host:port`. */
export function loopbackHosts(boundHost: string, port: number): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]']);
  names.add(boundHost.includes(':') ? `[${boundHost}]` : boundHost);
  return new Set([...names].map((n) => `${n.toLowerCase()}:${port}`));
}

/** True for the addresses `--listen` may name: 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Equal secrets, compared in constant time. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Judge one request. Host first: a page of another site that rebinds its DNS name to 127.0.0.1 names its own host,
 * and learns nothing, not even whether a token is needed. Then Origin (a cross-site fetch or EventSource), then the
 * method (the dashboard never changes anything), then the token.
 */
export function judgeRequest(req: GuardInput, policy: GuardPolicy): GuardVerdict {
  const host = (req.host ?? '').toLowerCase();
  if (!policy.hosts.has(host)) {
    return { ok: false, code: 'SWARM_ERR_DASHBOARD_FOREIGN_HOST', message: `this dashboard answers only to ${[...policy.hosts].join(', ')}, not to Host "${req.host ?? ''}"; open the URL swarmctl dashboard printed` };
  }
  if (req.origin !== undefined && req.origin !== `http://${host}`) {
    return { ok: false, code: 'SWARM_ERR_DASHBOARD_FOREIGN_ORIGIN', message: `requests from ${req.origin} are refused: only the dashboard's own page (http://${host}) may call it` };
  }
  if (!READ_METHODS.has(req.method.toUpperCase())) {
    return { ok: false, code: 'SWARM_ERR_DASHBOARD_READ_ONLY', message: `${req.method} refused: the dashboard only reads; make changes with the swarmctl commands it shows` };
  }
  if (req.token === undefined || req.token === '' || !sameSecret(req.token, policy.token)) {
    return { ok: false, code: 'SWARM_ERR_DASHBOARD_NO_TOKEN', message: `${req.token ? 'wrong' : 'no'} dashboard token: open the URL swarmctl dashboard printed as its first line (it carries ?token=)` };
  }
  return { ok: true };
}
