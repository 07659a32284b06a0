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

  // -- channels: messages and reports (hardening items 6, 8) --

  // -- revocation on hosts (hardening item 3) --

  // -- enrollment and renewal (hardening item 11) --
} as const satisfies Record<string, Limit>;

export type LimitName = keyof typeof LIMITS;

/** The value of a named limit. */
export function limitValue(name: LimitName): number {
  return (LIMITS as Record<string, Limit>)[name]!.value;
}

export { limit as defineLimit };
