// The operator API of releases, rollouts and fleet rollback: zod schemas both ends use (controller routes, swarmctl,
// the dashboard). Names and shapes pinned by the design (DESIGN.md §6, §7) are kept exactly.
import { z } from 'zod';
import { ReleaseIdSchema, VersionSchema } from './release-manifest.js';

export const ReleaseSchema = z.object({
  id: ReleaseIdSchema,
  name: z.string(),
  version: VersionSchema,
  size: z.number().int().nonnegative(),
  /** base64 Ed25519 signature over the id, when one was uploaded. */
  signature: z.string().nullable(),
  uploadedBy: z.string(),
  uploadedAt: z.string(),
});
export type ReleaseJson = z.output<typeof ReleaseSchema>;

/** `GET /v1/releases/:ref`: the release, the hosts that run it, the rollouts that used it. */
export const ReleaseDetailSchema = ReleaseSchema.extend({
  hosts: z.array(z.string()),
  rollouts: z.array(z.object({ id: z.string(), state: z.string(), createdAt: z.string() })),
});

export const AmountJsonSchema = z.union([z.object({ count: z.number().int().min(0) }), z.object({ percent: z.number().min(0).max(100) })]);

export const StrategyJsonSchema = z.object({
  canary: z.number().int().min(0),
  batch: AmountJsonSchema,
  maxParallel: z.number().int().min(1),
  maxFailures: AmountJsonSchema,
  pauseBetweenMs: z.number().int().min(0),
  hostDeadlineMs: z.number().int().min(1000),
});

/** Which hosts: exactly one of all, hosts, selector. */
export const TargetsSchema = z.union([
  z.object({ all: z.literal(true) }).strict(),
  z.object({ hosts: z.array(z.string()).min(1).max(100_000) }).strict(),
  z.object({ selector: z.string().min(1).max(1024) }).strict(),
]);
export type Targets = z.output<typeof TargetsSchema>;

/** `POST /v1/rollouts` and `POST /v1/rollouts/plan`. `release` is an id, a unique prefix (8+ hex) or a version. */
export const StartRolloutBodySchema = z.object({
  release: z.string().min(1).max(128),
  targets: TargetsSchema,
  strategy: StrategyJsonSchema.partial().default({}),
  /** 'agent' (default) or 'updater' (swarmctl updater self-update: the updaters' own code). */
  kind: z.enum(['agent', 'updater']).default('agent'),
}).strict();
export type StartRolloutBody = z.output<typeof StartRolloutBodySchema>;

export const HostErrorSchema = z.object({ code: z.string(), message: z.string(), detail: z.string().optional() }).nullable();

export const RolloutHostSchema = z.object({
  name: z.string(),
  wave: z.number().int(),
  state: z.enum(['pending', 'pushing', 'succeeded', 'rolled-back', 'failed', 'unreachable', 'skipped']),
  error: HostErrorSchema,
  /** The release the host ran before this rollout changed it (what `rollback --rollout` returns it to). */
  from: z.string().nullable(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
});

export const RolloutEventSchema = z.object({
  seq: z.number().int(),
  at: z.string(),
  type: z.string(),
  host: z.string().nullable(),
  wave: z.number().int().nullable(),
  actor: z.string().nullable(),
  reason: z.string().nullable(),
  message: z.string(),
});
export type RolloutEvent = z.output<typeof RolloutEventSchema>;

/** `GET /v1/rollouts/:id` (= `rollout status ID --json`, pinned: id, release, state, reason, hosts[name, wave, state, error], events). */
export const RolloutSchema = z.object({
  id: z.string(),
  release: z.string(),
  version: z.string(),
  /** The release most targets ran before (for the header "from -> to"); null when mixed or unknown. */
  from: z.string().nullable(),
  kind: z.enum(['agent', 'updater']),
  state: z.enum(['pending', 'canary', 'rolling', 'paused', 'done', 'aborted']),
  reason: z.enum(['canary-failed', 'budget-exceeded', 'operator', 'rollback']).nullable(),
  strategy: StrategyJsonSchema,
  budget: z.object({ allowed: z.number().int(), used: z.number().int() }),
  currentWave: z.number().int(),
  waves: z.array(z.object({ index: z.number().int(), hosts: z.number().int(), done: z.number().int(), inFlight: z.number().int(), failed: z.number().int(), rolledBack: z.number().int(), pending: z.number().int() })),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  endedAt: z.string().nullable(),
  hosts: z.array(RolloutHostSchema),
  events: z.array(RolloutEventSchema),
});
export type RolloutJson = z.output<typeof RolloutSchema>;

/** `GET /v1/rollouts`: without hosts and events. */
export const RolloutSummarySchema = RolloutSchema.omit({ hosts: true, events: true });

/** `POST /v1/rollouts/plan`: the waves, nothing changed. */
export const RolloutPlanSchema = z.object({
  release: z.string(),
  version: z.string(),
  waves: z.array(z.array(z.string())),
  skipped: z.array(z.string()),
  budget: z.number().int(),
  strategy: StrategyJsonSchema,
});

/** `POST /v1/rollouts/:id/resume`. */
export const ResumeBodySchema = z.object({ maxFailures: AmountJsonSchema.optional() }).strict();

/** `POST /v1/rollback` (fleet rollback). Exactly one of hosts, all, selector, rollout. */
export const FleetRollbackBodySchema = z.object({
  hosts: z.array(z.string()).min(1).max(100_000).optional(),
  all: z.literal(true).optional(),
  selector: z.string().min(1).max(1024).optional(),
  rollout: z.string().min(1).max(64).optional(),
  /** Hosts rolled back at once (default LIMITS rollback.parallel). */
  parallel: z.number().int().min(1).max(10_000).optional(),
}).strict().refine((b) => [b.hosts, b.all, b.selector, b.rollout].filter((v) => v !== undefined).length === 1, { message: 'give exactly one of hosts, all, selector, rollout' });

/** Fleet rollback report (pinned: `{ hosts: [{ name, state, release, error }] }`, state rolled-back | failed | unreachable). */
export const FleetRollbackReportSchema = z.object({
  hosts: z.array(z.object({
    name: z.string(),
    state: z.enum(['rolled-back', 'failed', 'unreachable']),
    /** The release the host runs after the rollback (or still runs, when it failed). */
    release: z.string().nullable(),
    error: HostErrorSchema,
  })),
  /** Rollouts paused first (reason rollback). */
  pausedRollouts: z.array(z.string()),
  startedAt: z.string(),
  endedAt: z.string(),
});
export type FleetRollbackReport = z.output<typeof FleetRollbackReportSchema>;
