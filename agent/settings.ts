// The agent's settings: flags first, then SWARM_* environment, then defaults; validated with zod into a frozen object.
import { resolve } from 'node:path';
import { z } from 'zod';
import { UsageError, parseHostPort } from '../shared/cli.js';
import { deepFreeze } from '../shared/config.js';
import { DEFAULT_LISTEN as PINNED_LISTEN, DEFAULT_PKI_DIR, formatListen } from '../shared/defaults.js';
import { HttpsUrlListSchema } from '../shared/https-url.js';
import { LIMITS } from '../shared/limits.js';
import type { SupervisorPolicy } from './health.js';

/** Re-exported for agent/index.ts: the agent's flags and help name them. */
export { DEFAULT_PKI_DIR };
export const DEFAULT_LISTEN = formatListen(PINNED_LISTEN.agent);

export interface AgentFlags {
  pkiDir?: string | undefined;
  listen?: string | undefined;
  /** --controller, repeatable (replicas); each may also hold several URLs separated by commas. */
  controller?: readonly string[] | string | undefined;
}

export interface AgentSettings {
  readonly pkiDir: string;
  readonly listen: { readonly host: string; readonly port: number };
  /** The first controller URL; undefined: standalone. */
  readonly controller: string | undefined;
  /** Every controller URL in preference order (one, or several replicas to fail over between); undefined: standalone. */
  readonly controllers: readonly string[] | undefined;
  readonly policy: SupervisorPolicy;
  /** Requests per second per client identity. */
  readonly rateLimitPerSecond: number;
  /** How often the CRL is fetched from the controller (the fallback when the channel is down). */
  readonly crlRefreshMs: number;
}

const PkiDirSchema = z.string().min(1, { message: 'must not be empty' }).max(4096).refine((p) => !p.includes('\0'), { message: 'must be a path' });

const ms = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Tunables that only tests and unusual hosts change; names are the env variables. */
const TuningSchema = z.object({
  SWARM_AGENT_CRASH_LIMIT: z.coerce.number().int().min(1).max(1000).default(5),
  SWARM_AGENT_CRASH_WINDOW_MS: ms(100, 86_400_000).default(60_000),
  SWARM_AGENT_STABLE_MS: ms(10, 3_600_000).default(5_000),
  SWARM_AGENT_BACKOFF_BASE_MS: ms(1, 600_000).default(250),
  SWARM_AGENT_BACKOFF_CAP_MS: ms(1, 3_600_000).default(30_000),
  SWARM_AGENT_STOP_GRACE_MS: ms(0, 600_000).default(5_000),
  SWARM_AGENT_RATE_LIMIT: z.coerce.number().int().min(1).max(10_000_000).default(50),
  SWARM_AGENT_CRL_REFRESH_MS: ms(100, 86_400_000).default(LIMITS['revocation.crlRefreshInterval'].value),
});

function check<S extends z.ZodType>(schema: S, value: unknown, source: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new UsageError(`${source} "${Array.isArray(value) ? value.join(',') : String(value)}": ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

/** Resolve settings from parsed flags and an environment; throws UsageError naming the flag or variable. */
export function resolveAgentSettings(flags: AgentFlags, env: NodeJS.ProcessEnv): AgentSettings {
  const pkiSource = flags.pkiDir !== undefined ? '--pki-dir' : 'SWARM_PKI_DIR';
  const pkiDir = check(PkiDirSchema, flags.pkiDir ?? env.SWARM_PKI_DIR ?? DEFAULT_PKI_DIR, pkiSource);

  const listenSource = flags.listen !== undefined ? '--listen' : 'SWARM_AGENT_LISTEN';
  const listen = parseHostPort(flags.listen ?? env.SWARM_AGENT_LISTEN ?? DEFAULT_LISTEN, listenSource, DEFAULT_LISTEN);

  const controllerRaw = flags.controller ?? (env.SWARM_CONTROLLER === '' ? undefined : env.SWARM_CONTROLLER);
  const controllers = controllerRaw === undefined
    ? undefined
    : check(HttpsUrlListSchema, controllerRaw, flags.controller !== undefined ? '--controller' : 'SWARM_CONTROLLER');

  const tuningRaw = Object.fromEntries(Object.keys(TuningSchema.shape).filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]));
  const r = TuningSchema.safeParse(tuningRaw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const name = String(issue?.path[0] ?? 'SWARM_AGENT_*');
    throw new UsageError(`${name} "${String(env[name])}": ${issue?.message ?? 'invalid'}`);
  }
  const t = r.data;
  if (t.SWARM_AGENT_BACKOFF_CAP_MS < t.SWARM_AGENT_BACKOFF_BASE_MS) {
    throw new UsageError(`SWARM_AGENT_BACKOFF_CAP_MS "${t.SWARM_AGENT_BACKOFF_CAP_MS}": must not be below SWARM_AGENT_BACKOFF_BASE_MS (${t.SWARM_AGENT_BACKOFF_BASE_MS})`);
  }
  return deepFreeze({
    pkiDir: resolve(pkiDir),
    listen,
    controller: controllers?.[0],
    controllers,
    policy: {
      crashLimit: t.SWARM_AGENT_CRASH_LIMIT,
      crashWindowMs: t.SWARM_AGENT_CRASH_WINDOW_MS,
      stableMs: t.SWARM_AGENT_STABLE_MS,
      backoffBaseMs: t.SWARM_AGENT_BACKOFF_BASE_MS,
      backoffCapMs: t.SWARM_AGENT_BACKOFF_CAP_MS,
      stopGraceMs: t.SWARM_AGENT_STOP_GRACE_MS,
    },
    rateLimitPerSecond: t.SWARM_AGENT_RATE_LIMIT,
    crlRefreshMs: t.SWARM_AGENT_CRL_REFRESH_MS,
  });
}
