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
  'join.caAnswerBytes': limit(65_536, 'bytes', 'GET /v1/pki/ca is read before anything is trusted; a CA certificate is ~2 KiB, so 64 KiB leaves room for large keys and stops an endless answer from filling memory.'),
  'join.caAnswerTimeout': limit(10_000, 'ms', 'How long join waits for the whole GET /v1/pki/ca answer; a server that trickles bytes cannot hold the join (and the person running it) for ever.'),
  'join.tokenFileBytes': limit(4096, 'bytes', 'A join token is ~50 characters; reading --token-file (or stdin) stops here, so a wrong path such as a device or a huge file fails at once.'),

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
