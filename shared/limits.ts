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

  // -- updater: uploads and operation deadlines (hardening item 2) --

  // -- join: the CA answer (hardening item 1) --
  'join.tokenTtlMin': limit(60_000, 'ms', 'Shortest join token an operator may ask for (host add --token-ttl): shorter ones expire before a person can copy the command to the host.'),
  'join.tokenTtlMax': limit(7 * 86_400_000, 'ms', 'Longest join token: a token is a credential that enrolls a host; a week covers shipping a pre-provisioned sensor, longer would leave secrets lying around.'),

  // -- channels: messages and reports (hardening items 6, 8) --

  // -- revocation on hosts (hardening item 3) --
  'revocation.maxSerialsPerMessage': limit(2_000, 'count', 'Serials in one `revoked` channel message (~90 KB, under the 256 KiB channel cap); a longer list is sent in several messages.'),
  'revocation.crlRefreshInterval': limit(300_000, 'ms', 'How often agents and updaters fetch and verify GET /v1/pki/crl: the fallback when the channel is down, so a revocation reaches a cut-off host within this.'),
  'revocation.crlFetchTimeout': limit(10_000, 'ms', 'One CRL fetch (connect, headers and body); a stalled controller must not hold the refresh forever.'),
  'revocation.crlMaxBytes': limit(8 * 1024 * 1024, 'bytes', 'Largest CRL a host reads (~200,000 entries); a bigger answer is refused, not buffered.'),
  'revocation.controllerCertLifetime': limit(7 * 86_400_000, 'ms', 'Lifetime of the controller certificate (it self-renews when a third is left): a stolen controller key is useful for at most this long even where the CRL does not reach.'),

  // -- enrollment and renewal (hardening item 11) --
} as const satisfies Record<string, Limit>;

export type LimitName = keyof typeof LIMITS;

/** The value of a named limit. */
export function limitValue(name: LimitName): number {
  return (LIMITS as Record<string, Limit>)[name]!.value;
}

export { limit as defineLimit };
