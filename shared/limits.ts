// Every timeout, cap and rate limit that defends a Swarm process, in one place: its value and why.
// docs/limits.md lists each one (a test checks both directions); change a value here and there together.

export interface Limit {
  readonly value: number;
  /** The unit of `value`: 'ms', 'bytes', 'count', 'per-second', 'bytes-per-second', ... */
  readonly unit: string;
  /** Why this number: what it protects and what a different value would break. */
  readonly why: string;
}

function limit(value: number, unit: string, why: string): Limit {
  return Object.freeze({ value, unit, why });
}

/** Every limit, by a stable dotted name (`area.what`). */
export const LIMITS = {
  // -- servers: TLS handshakes, anonymous connections (hardening items 4, 5) --
  'server.handshake-timeout': limit(5_000, 'ms', 'A socket must finish TLS this soon after it connects; Node holds a silent one 120 s. A few round trips on a slow link fit easily; attackers can no longer park sockets.'),
  'server.headers-timeout': limit(10_000, 'ms', 'All request headers must arrive this soon after the request starts (a partial request was held ~75 s). Checked every server.timeout-check-interval.'),
  'server.timeout-check-interval': limit(1_000, 'ms', 'How often Node checks requests against the headers timeout (its default, 30 s, let a partial request live 30 s past the timeout).'),
  'server.max-pending-handshakes': limit(512, 'count', 'Sockets still in the TLS handshake, all sources together; beyond it the oldest socket of the busiest source is dropped. Covers a fleet reconnecting after a controller restart.'),
  'server.max-pending-handshakes-per-source': limit(32, 'count', 'Sockets still in the TLS handshake from one address (an IPv6 /64); beyond it that source loses its oldest, so a flood only evicts itself. Room for a NAT with many hosts.'),
  'server.max-anonymous-connections': limit(256, 'count', 'Connections that finished TLS without a verified certificate (controller only: enrollment, CA, CRL, healthz), all sources; they never take the places of verified identities.'),
  'server.max-anonymous-connections-per-source': limit(16, 'count', 'Connections without a verified certificate from one address (an IPv6 /64); beyond it that source loses its oldest. Enrollment needs two, one after the other.'),
  'server.anonymous-connection-lifetime': limit(30_000, 'ms', 'A connection without a verified certificate is closed this long after its handshake, whatever it does: enrollment and CA/CRL fetches take milliseconds; a trickled request cannot hold one.'),
  'server.max-connections-per-identity': limit(64, 'count', 'Live connections of one verified identity (SPIFFE URI); a further one is closed at once. Bounds what one stolen certificate can hold; swarmctl uses 4, a host 2-3.'),
  'server.eviction-log-interval': limit(60_000, 'ms', 'At most one warning per interval summarises the sockets dropped by the connection caps, so a flood cannot flood the log too.'),
  'agent.max-pending-handshakes': limit(64, 'count', 'The agent listens on loopback for two callers (the updater, the controller): far fewer pending handshakes than a controller, so a local flood from many 127.x addresses stays small.'),

  // -- updater: uploads and operation deadlines (hardening item 2) --

  // -- join: the CA answer (hardening item 1) --

  // -- channels: messages and reports (hardening items 6, 8) --

  // -- revocation on hosts (hardening item 3) --

  // -- enrollment and renewal (hardening item 11) --
} as const satisfies Record<string, Limit>;

export type LimitName = keyof typeof LIMITS;

/** The value of a named limit. */
export function limitValue(name: LimitName): number {
  return LIMITS[name].value;
}

export { limit as defineLimit };
