// The rollout service: what the routes (and the dashboard) call; the engine behind it owns the store rows,
// the executor loop, pushes, resume after a restart and fleet rollback.
import type { FleetRollbackReport, RolloutEvent, RolloutJson, StartRolloutBody } from '../../shared/rollout-api.js';
import type { z } from 'zod';
import type { FleetRollbackBodySchema, RolloutPlanSchema, RolloutSummarySchema, AmountJsonSchema } from '../../shared/rollout-api.js';

export type RolloutPlanJson = z.output<typeof RolloutPlanSchema>;
export type RolloutSummaryJson = z.output<typeof RolloutSummarySchema>;
export type FleetRollbackBody = z.output<typeof FleetRollbackBodySchema>;

export interface RolloutService {
  /** The waves for a start body, nothing written. */
  plan(body: StartRolloutBody): Promise<RolloutPlanJson>;
  /** Validate, write the rollout and its hosts (state pending), and let the executor drive it. */
  start(body: StartRolloutBody, actor: string): Promise<RolloutJson>;
  list(): Promise<RolloutSummaryJson[]>;
  get(id: string): Promise<RolloutJson | undefined>;
  pause(id: string, actor: string): Promise<RolloutJson>;
  resume(id: string, actor: string, maxFailures?: z.output<typeof AmountJsonSchema>): Promise<RolloutJson>;
  abort(id: string, actor: string): Promise<RolloutJson>;
  /** Events after `afterSeq`, in order. */
  events(id: string, afterSeq?: number): Promise<RolloutEvent[]>;
  /** Live events of one rollout (or of all, id undefined); returns the unsubscribe function. */
  subscribe(id: string | undefined, listener: (event: RolloutEvent & { rollout: string }) => void): () => void;
  /** Fleet rollback: pause every running rollout that targets a selected host (reason rollback), then every host to its prev, in parallel. */
  rollback(body: FleetRollbackBody, actor: string): Promise<FleetRollbackReport>;
  /** Stop the executor (controller shutdown); in-flight pushes are left to be settled after the restart. */
  close(): Promise<void>;
}
