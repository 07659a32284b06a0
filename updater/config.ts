// The updater's configuration: a zod schema with safe defaults; flags override the file; the result is frozen.
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { parseConfig, readConfigFile } from '../shared/config.js';
import { DEFAULT_INSTALL_DIR, DEFAULT_LISTEN, DEFAULT_PKI_DIR, DEFAULT_PORTS, UNIT_NAMES } from '../shared/defaults.js';
import { HttpsUrlListSchema } from '../shared/https-url.js';
import { LIMITS, limitValue } from '../shared/limits.js';
import { DEFAULT_INSTALL_LIMITS, InstallLimitsSchema } from './install/index.js';

const ms = (def: number, min = 1) => z.number().int().min(min).max(24 * 3600_000).default(def);

export const UpdaterConfigSchema = z.strictObject({
  installDir: z.string().min(1).default(DEFAULT_INSTALL_DIR),
  pkiDir: z.string().min(1).default(DEFAULT_PKI_DIR),
  listen: z.strictObject({ host: z.string().min(1), port: z.number().int().min(0).max(65535) }).default({ ...DEFAULT_LISTEN.updater }),
  agentPort: z.number().int().min(1).max(65535).default(DEFAULT_PORTS.agent),
  /** auto: systemd when INVOCATION_ID is set and systemctl is on PATH, else spawn. */
  restart: z.enum(['auto', 'systemd', 'spawn']).default('auto'),
  /** One URL, or several (controller replicas, failed over in order): a string, comma-separated or not, or an array. */
  controller: HttpsUrlListSchema.optional(),
  keep: z.number().int().min(2).max(100).default(3),
  limits: InstallLimitsSchema.default(() => ({ ...DEFAULT_INSTALL_LIMITS })),
  /** PEM file with the Ed25519 release-signing public key; when set, unsigned releases are refused. */
  signingPublicKeyPath: z.string().min(1).optional(),
  probe: z.strictObject({
    deadlineMs: ms(60_000),
    /** First retry delay; doubles up to backoffMaxMs (kept small: a rollback is only as fast as this granularity). */
    intervalMs: ms(25),
    backoffMaxMs: ms(200),
    requestTimeoutMs: ms(2_000),
  }).default({ deadlineMs: 60_000, intervalMs: 25, backoffMaxMs: 200, requestTimeoutMs: 2_000 }),
  watch: z.strictObject({
    windowMs: ms(30_000, 0),
    intervalMs: ms(1_000),
    /** Consecutive failed probes inside the window that count as a failure. */
    maxFailures: z.number().int().min(1).max(100).default(3),
  }).default({ windowMs: 30_000, intervalMs: 1_000, maxFailures: 3 }),
  agent: z.strictObject({
    systemdUnit: z.string().regex(/^[A-Za-z0-9@._-]+\.service$/).default(UNIT_NAMES.agent),
    /** SIGTERM, then SIGKILL after this grace period (spawn mode). */
    stopGraceMs: ms(10_000),
    restartBackoffMs: ms(500),
    restartBackoffMaxMs: ms(30_000),
  }).default({ systemdUnit: UNIT_NAMES.agent, stopGraceMs: 10_000, restartBackoffMs: 500, restartBackoffMaxMs: 30_000 }),
  revocation: z.strictObject({
    /** How often the CRL is fetched from the controller (the fallback when the channel is down). */
    crlRefreshMs: ms(LIMITS['revocation.crlRefreshInterval'].value, 100),
  }).default({ crlRefreshMs: LIMITS['revocation.crlRefreshInterval'].value }),
  /** A release body's pace (defaults in shared/limits.ts): a stalled or trickling sender must not hold the operation lock. */
  upload: z.strictObject({
    minBytesPerSecond: z.number().int().min(1).default(limitValue('updater.upload.min-rate')),
    rateWindowMs: ms(limitValue('updater.upload.rate-window')),
    deadlineMs: ms(limitValue('updater.upload.deadline')),
  }).default({ minBytesPerSecond: limitValue('updater.upload.min-rate'), rateWindowMs: limitValue('updater.upload.rate-window'), deadlineMs: limitValue('updater.upload.deadline') }),
  selfUpdate: z.strictObject({
    /** The new updater must confirm within this deadline or the previous one is restored. */
    deadlineMs: ms(60_000),
  }).default({ deadlineMs: 60_000 }),
});

export type UpdaterConfig = Readonly<z.output<typeof UpdaterConfigSchema>>;

/** Flags as `run` parses them; each overrides the file. */
export interface ConfigFlags {
  installDir?: string;
  pkiDir?: string;
  listen?: { host: string; port: number };
  agentPort?: number;
  restart?: 'systemd' | 'spawn';
  controller?: readonly string[];
}

/** Read the optional config file, lay the flags over it, validate, freeze. */
export async function loadUpdaterConfig(file: string | undefined, flags: ConfigFlags): Promise<UpdaterConfig> {
  const raw = file ? await readConfigFile(file) : {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return parseConfig(UpdaterConfigSchema, raw, file ?? 'config');
  // Paths are made absolute here, before anything hands them on: the agent runs from its release directory,
  // so a relative --pki-dir passed through would name another directory there (and fail the release).
  const merged: Record<string, unknown> = absolutePaths({ ...(raw as Record<string, unknown>) }, file ? dirname(resolve(file)) : process.cwd());
  for (const [k, v] of Object.entries(absolutePaths({ ...flags }, process.cwd()))) if (v !== undefined) merged[k] = v;
  return parseConfig(UpdaterConfigSchema, merged, file ?? 'flags');
}

const PATH_KEYS = ['installDir', 'pkiDir', 'signingPublicKeyPath'] as const;

/** Resolve the path settings of a config layer against `base` (a file's paths against its own directory, flags against the cwd). */
function absolutePaths<T extends Record<string, unknown>>(layer: T, base: string): T {
  for (const key of PATH_KEYS) {
    const v = layer[key];
    if (typeof v === 'string' && v.length > 0) (layer as Record<string, unknown>)[key] = resolve(base, v);
  }
  return layer;
}

/** The same config with defaults only (for tests and local commands). */
export function defaultUpdaterConfig(overrides: Record<string, unknown> = {}): UpdaterConfig {
  return parseConfig(UpdaterConfigSchema, overrides, 'config');
}
