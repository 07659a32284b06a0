// Wire schemas shared between parts: agent health, updater status and operation records.
// Every string a host sends is bounded, and printable unless it is process output (escaped on display instead):
// a compromised host must not reach an operator's terminal with escapes (hardening item 6).
import { z } from 'zod';
import { LIMITS } from './limits.js';
import { printableString } from './printable.js';
import { ReleaseIdSchema, RestartPolicySchema, ServiceNameSchema, VersionSchema } from './release-manifest.js';

export { RestartPolicySchema, type RestartPolicy } from './release-manifest.js';

const TEXT_CHARS = LIMITS['channels.report-text-chars'].value;
/** Free text a host reports about itself. */
const ReportTextSchema = printableString(TEXT_CHARS);
const IsoTimeSchema = z.iso.datetime();
/** The agent reports "unknown" outside an installed release. */
export const ReportedReleaseSchema = z.union([ReleaseIdSchema, z.literal('unknown')]);

export const HealthStatusSchema = z.enum(['ok', 'degraded', 'failing']);
export type HealthStatus = z.output<typeof HealthStatusSchema>;

export const ServiceStateSchema = z.enum(['starting', 'running', 'backoff', 'failed', 'stopping', 'stopped', 'exited']);
export type ServiceState = z.output<typeof ServiceStateSchema>;

export const ServiceHealthSchema = z.object({
  name: ServiceNameSchema,
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
  release: ReportedReleaseSchema,
  version: VersionSchema,
  pid: z.number().int(),
  startedAt: IsoTimeSchema,
  services: z.array(ServiceHealthSchema).max(LIMITS['channels.report-services'].value),
});
export type AgentHealth = z.output<typeof AgentHealthSchema>;

export const ReleaseRefSchema = z.object({
  id: ReleaseIdSchema,
  version: VersionSchema,
  /** `<version>-<first 12 hex of the id>` */
  dir: z.string().regex(/^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}-[0-9a-f]{12}$/, { message: 'must be <version>-<12 hex digits>' }),
});
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
  /** Who asked for the operation (an asked-for rollback): `local` or the caller's SPIFFE identity. */
  requestedBy: z.string().optional(),
  /** Why, in the caller's words (bounded by updater.rollback.reason-chars). */
  reason: z.string().optional(),
});
export type OperationRecord = z.output<typeof OperationRecordSchema>;

/**
 * The last operation as an updater reports it over its channel: the record's shape with every field bounded
 * (the newest steps only). The durable record on the host stays as written (OperationRecordSchema).
 */
export const ReportedOperationSchema = z.object({
  id: printableString(64),
  kind: OperationKindSchema,
  state: OperationStateSchema,
  release: z.object({ id: ReportTextSchema, version: ReportTextSchema.nullable() }).nullable(),
  from: ReleaseRefSchema.nullable(),
  to: ReleaseRefSchema.nullable(),
  startedAt: IsoTimeSchema,
  endedAt: IsoTimeSchema.nullable(),
  error: z.object({ code: printableString(64), message: ReportTextSchema }).nullable(),
  steps: z.array(z.object({ at: IsoTimeSchema, step: printableString(64), detail: ReportTextSchema.optional() })).max(LIMITS['channels.report-steps'].value),
  requestedBy: ReportTextSchema.optional(),
  reason: ReportTextSchema.optional(),
});

/** What the updater reports (`GET /v1/health` of the updater, `swarm-updater status`, its channel). */
export const UpdaterStatusSchema = z.object({
  status: z.enum(['ok', 'busy', 'degraded']),
  version: VersionSchema,
  pid: z.number().int(),
  startedAt: IsoTimeSchema,
  active: ReleaseRefSchema.nullable(),
  prev: ReleaseRefSchema.nullable(),
  /** The running operation's id. */
  running: printableString(64).nullable(),
  lastOperation: ReportedOperationSchema.nullable(),
  agent: AgentHealthSchema.nullable(),
  badReleases: z.array(ReleaseIdSchema).max(LIMITS['channels.report-bad-releases'].value),
});
export type UpdaterStatus = z.output<typeof UpdaterStatusSchema>;

/** How one run of an agent's service ended (`GET /v1/status`). */
export const AgentLastExitSchema = z.object({
  code: z.number().int().nullable(),
  signal: printableString(32).nullable(),
  at: IsoTimeSchema,
  /** Set when the process could not be started at all: the spawn error, which may quote the command (escaped on display). */
  error: z.string().max(LIMITS['channels.status-output-line-chars'].value).optional(),
});

/** One service in the agent's `GET /v1/status`: state, restarts, last exit and recent output lines. */
export const AgentServiceStatusSchema = z.object({
  name: ServiceNameSchema,
  state: ServiceStateSchema,
  required: z.boolean(),
  restart: RestartPolicySchema,
  restarts: z.number().int().nonnegative(),
  pid: z.number().int().nullable(),
  startedAt: IsoTimeSchema.nullable(),
  stable: z.boolean(),
  recentCrashes: z.number().int().nonnegative(),
  lastExit: AgentLastExitSchema.nullable(),
  /** What the service printed: free text, bounded here and escaped by every human output. */
  output: z.array(z.object({
    at: IsoTimeSchema, stream: z.enum(['stdout', 'stderr']), line: z.string().max(LIMITS['channels.status-output-line-chars'].value), truncated: z.boolean(),
  })).max(LIMITS['channels.status-output-lines'].value),
});
export type AgentServiceStatus = z.output<typeof AgentServiceStatusSchema>;

/** The agent's `GET /v1/status` (controller only): its health plus identity, TLS expiry, policy and per-service detail. */
export const AgentStatusSchema = AgentHealthSchema.extend({
  identity: printableString(256),
  tls: z.object({ serial: printableString(64), notAfter: IsoTimeSchema }),
  policy: z.object({
    crashLimit: z.number(), crashWindowMs: z.number(), stableMs: z.number(),
    backoffBaseMs: z.number(), backoffCapMs: z.number(), stopGraceMs: z.number(),
  }),
  details: z.array(AgentServiceStatusSchema).max(LIMITS['channels.report-services'].value),
});
export type AgentStatus = z.output<typeof AgentStatusSchema>;
