// The agent's `GET /v1/status` payload (controller only): health plus per-service detail and recent output.
import { z } from 'zod';
import { AgentHealthSchema, ServiceStateSchema } from '../shared/wire.js';

export const LastExitSchema = z.object({
  code: z.number().int().nullable(),
  signal: z.string().nullable(),
  at: z.string(),
  error: z.string().optional(),
});

export const ServiceStatusSchema = z.object({
  name: z.string(),
  state: ServiceStateSchema,
  required: z.boolean(),
  restart: z.enum(['always', 'on-failure', 'never']),
  restarts: z.number().int().nonnegative(),
  pid: z.number().int().nullable(),
  startedAt: z.string().nullable(),
  stable: z.boolean(),
  recentCrashes: z.number().int().nonnegative(),
  lastExit: LastExitSchema.nullable(),
  output: z.array(z.object({ at: z.string(), stream: z.enum(['stdout', 'stderr']), line: z.string(), truncated: z.boolean() })),
});

export const AgentStatusSchema = AgentHealthSchema.extend({
  identity: z.string(),
  tls: z.object({ serial: z.string(), notAfter: z.string() }),
  policy: z.object({
    crashLimit: z.number(), crashWindowMs: z.number(), stableMs: z.number(),
    backoffBaseMs: z.number(), backoffCapMs: z.number(), stopGraceMs: z.number(),
  }),
  details: z.array(ServiceStatusSchema),
});
export type AgentStatus = z.output<typeof AgentStatusSchema>;

/** `?lines=N`: how many recent output lines per service (default 50). */
export const StatusQuerySchema = z.object({ lines: z.coerce.number().int().min(0).max(1000).default(50) });
