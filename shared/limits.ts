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
  'enroll.per-source-per-minute': limit(20, 'per-minute',
    'Enrollment attempts one client address may make per minute (swarm-controller serve --enroll-rate). A host enrolls once; '
    + '20 leaves room for retries after typos or an expired token, and stops one address from guessing tokens or burning CPU.'),
  'enroll.global-per-minute': limit(1200, 'per-minute',
    'Enrollment attempts from all addresses together per minute (--enroll-global-rate), so a distributed attacker cannot make the '
    + 'controller burn CPU on CSR checks and issuance. One attempt costs a few ms of CPU (two CSR signatures verified, two leaves '
    + 'signed), so 20 a second stays under a tenth of a core, while 1,000 hosts joining at once (a fleet rebuilt) all pass in a minute.'),
  'renew.per-identity-per-minute': limit(30, 'per-minute',
    'Renewals one identity (all its certificates together) may make per minute. Honest processes renew every few days; the cap '
    + 'keeps a stolen identity from filling the certificate table (each renewal is a row).'),
  'renew.superseded-grace': limit(60_000, 'ms',
    'After a renewed certificate is first used at the controller, the certificate it replaced stays valid this long, so the '
    + 'renewing process can move its other connections over; then it is revoked (superseded). Short, because until then a '
    + 'stolen copy of the old certificate still works.'),
} as const satisfies Record<string, Limit>;

export type LimitName = keyof typeof LIMITS;

/** The value of a named limit. */
export function limitValue(name: LimitName): number {
  return LIMITS[name].value;
}

export { limit as defineLimit };
