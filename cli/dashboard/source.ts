// What the dashboard reads from the controller, as a small interface: swarmctl's own session (mTLS, the operator
// identity) stands behind it in the command; tests may hand in another.
import { z } from 'zod';
import { LIMITS } from '../../shared/limits.js';
import { FleetStatusSchema, HostViewSchema } from '../../shared/operator-api.js';
import { RolloutEventSchema, RolloutSchema, RolloutSummarySchema } from '../../shared/rollout-api.js';
import { readEventStream } from '../follow.js';
import type { Session } from '../session.js';

/** An event of the all-rollouts stream (`GET /v1/events/stream`): a rollout event and its rollout's id. */
export const StreamEventSchema = RolloutEventSchema.extend({ rollout: z.string() });
export type StreamEvent = z.output<typeof StreamEventSchema>;

export const HostListSchema = z.array(HostViewSchema);
export const RolloutListSchema = z.array(RolloutSummarySchema);

export interface DashboardSource {
  /** The controller's URL and the operator's name, for the page's header and its commands. */
  readonly controller: string;
  readonly operator: string;
  /** A GET of the controller's operator API, validated with `schema`. */
  read<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>>;
  /** Read the all-rollouts event stream until it ends or `signal` aborts; `onFrame` on every frame (heartbeats too). */
  streamEvents(signal: AbortSignal, onEvent: (e: StreamEvent) => void, onFrame: () => void): Promise<void>;
}

/** The dashboard's source in swarmctl: the session's API client and its event-stream reader. */
export function sessionSource(s: Session): DashboardSource {
  const timeoutMs = LIMITS['dashboard.request-timeout'].value;
  return {
    controller: s.options.controller,
    operator: s.material.identity.name,
    read: (path, schema) => s.call({ path, timeoutMs }, schema),
    streamEvents: (signal, onEvent, onFrame) => readEventStream(s, '/v1/events/stream', '', LIMITS['cli.watch-idle-timeout'].value, signal, StreamEventSchema, onEvent, onFrame),
  };
}

export { FleetStatusSchema, RolloutSchema };
