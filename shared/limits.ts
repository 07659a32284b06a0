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
  'updater.upload.min-rate': limit(1024, 'bytes-per-second', 'A release body slower than this over a whole rate window is cut (SWARM_ERR_UPDATER_UPLOAD_TOO_SLOW): a stalled or trickling client would otherwise hold the one-operation lock. Far below any working link; config upload.minBytesPerSecond.'),
  'updater.upload.rate-window': limit(30_000, 'ms', 'The rate is judged over consecutive windows this long, so a short network pause never cuts an upload; a stalled client is cut within two windows. Config upload.rateWindowMs.'),
  'updater.upload.deadline': limit(1_800_000, 'ms', 'A whole release body must arrive within 30 min (1 GiB at ~600 KB/s): a client trickling just above the minimum rate cannot hold the lock for days. Config upload.deadlineMs.'),
  'updater.restart.systemctl-timeout': limit(120_000, 'ms', 'systemctl restart/start/stop of the agent unit is killed after this (a unit whose stop hangs); the restart then counts as failed and the update rolls back.'),
  'updater.install.sync-timeout': limit(300_000, 'ms', 'The one `sync -f` that makes a staged release durable is killed after this; the installer then fsyncs each file itself. A hung disk must not hold the operation forever.'),

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
