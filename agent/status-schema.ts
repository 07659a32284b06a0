// The agent's `GET /v1/status` payload: the wire schema lives in shared/wire.ts (the controller parses it); the query is the agent's own.
import { z } from 'zod';

export {
  AgentLastExitSchema as LastExitSchema,
  AgentServiceStatusSchema as ServiceStatusSchema,
  AgentStatusSchema,
  type AgentStatus,
} from '../shared/wire.js';

/** `?lines=N`: how many recent output lines per service (default 50). */
export const StatusQuerySchema = z.object({ lines: z.coerce.number().int().min(0).max(1000).default(50) });
