// Wire schemas shared between parts: agent health, updater status and operation records.
import { z } from 'zod';

export const HealthStatusSchema = z.enum(['ok', 'degraded', 'failing']);
export type HealthStatus = z.output<typeof HealthStatusSchema>;

export const ServiceStateSchema = z.enum(['starting', 'running', 'backoff', 'failed', 'stopping', 'stopped', 'exited']);

export const ServiceHealthSchema = z.object({
  name: z.string(),
  state: ServiceStateSchema,
  required: z.boolean(),
  restarts: z.number().int().nonnegative(),
  pid: z.number().int().nullable(),
});
export type ServiceHealth = z.output<typeof ServiceHealthSchema>;

/** `GET /v1/health` of the agent (and what it reports over its channel). */
export const AgentHealthSchema = z.object({
  status: HealthStatusSchema,
  /** The release id from `.swarm-release.json` in the working directory; "unknown" outside a release. */
  release: z.string(),
  version: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
  services: z.array(ServiceHealthSchema),
});
export type AgentHealth = z.output<typeof AgentHealthSchema>;

export const ReleaseRefSchema = z.object({ id: z.string(), version: z.string(), dir: z.string() });
export type ReleaseRef = z.output<typeof ReleaseRefSchema>;

export const OperationKindSchema = z.enum(['update', 'rollback', 'self-update', 'recovery']);
export const OperationStateSchema = z.enum(['running', 'committed', 'rolled-back', 'refused', 'failed']);

/** The durable record of one updater operation (`GET /v1/operations/<id>`). */
export const OperationRecordSchema = z.object({
  id: z.string(),
  kind: OperationKindSchema,
  state: OperationStateSchema,
  release: z.object({ id: z.string(), version: z.string().nullable() }).nullable(),
  from: ReleaseRefSchema.nullable(),
  to: ReleaseRefSchema.nullable(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  steps: z.array(z.object({ at: z.string(), step: z.string(), detail: z.string().optional() })),
});
export type OperationRecord = z.output<typeof OperationRecordSchema>;

/** What the updater reports (`GET /v1/health` of the updater, `swarm-updater status`, its channel). */
export const UpdaterStatusSchema = z.object({
  status: z.enum(['ok', 'busy', 'degraded']),
  version: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
  active: ReleaseRefSchema.nullable(),
  prev: ReleaseRefSchema.nullable(),
  running: z.string().nullable(),
  lastOperation: OperationRecordSchema.nullable(),
  agent: AgentHealthSchema.nullable(),
  badReleases: z.array(z.string()),
});
export type UpdaterStatus = z.output<typeof UpdaterStatusSchema>;

/** How one run of an agent's service ended (`GET /v1/status`). */
export const AgentLastExitSchema = z.object({
  code: z.number().int().nullable(),
  signal: z.string().nullable(),
  at: z.string(),
  /** Set when the process could not be started at all. */
  error: z.string().optional(),
});

/** One service in the agent's `GET /v1/status`: state, restarts, last exit and recent output lines. */
export const AgentServiceStatusSchema = z.object({
  name: z.string(),
  state: ServiceStateSchema,
  required: z.boolean(),
  restart: z.enum(['always', 'on-failure', 'never']),
  restarts: z.number().int().nonnegative(),
  pid: z.number().int().nullable(),
  startedAt: z.string().nullable(),
  stable: z.boolean(),
  recentCrashes: z.number().int().nonnegative(),
  lastExit: AgentLastExitSchema.nullable(),
  output: z.array(z.object({ at: z.string(), stream: z.enum(['stdout', 'stderr']), line: z.string(), truncated: z.boolean() })),
});
export type AgentServiceStatus = z.output<typeof AgentServiceStatusSchema>;

/** The agent's `GET /v1/status` (controller only): its health plus identity, TLS expiry, policy and per-service detail. */
export const AgentStatusSchema = AgentHealthSchema.extend({
  identity: z.string(),
  tls: z.object({ serial: z.string(), notAfter: z.string() }),
  policy: z.object({
    crashLimit: z.number(), crashWindowMs: z.number(), stableMs: z.number(),
    backoffBaseMs: z.number(), backoffCapMs: z.number(), stopGraceMs: z.number(),
  }),
  details: z.array(AgentServiceStatusSchema),
});
export type AgentStatus = z.output<typeof AgentStatusSchema>;
