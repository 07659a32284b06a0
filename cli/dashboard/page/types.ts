// The wire types the page reads, taken from the zod schemas both ends use (types only: nothing of zod is bundled).
import type { FleetStatus, HostView } from '../../../shared/operator-api.js';
import type { RolloutEvent, RolloutJson } from '../../../shared/rollout-api.js';
import type { ControllerHealth, HostSnapshot } from '../wire.js';

export type { ControllerHealth, FleetStatus, HostSnapshot, HostView, RolloutEvent, RolloutJson };
export type RolloutSummary = Omit<RolloutJson, 'hosts' | 'events'>;
export type RolloutHost = RolloutJson['hosts'][number];
export type Wave = RolloutJson['waves'][number];

export interface Info {
  controller: string;
  operator: string;
  version: string;
  pollMs: number;
}

export interface ApiError {
  code: string;
  message: string;
}

/** States after which nothing more happens without an operator. */
export const SETTLED: ReadonlySet<string> = new Set(['done', 'aborted', 'paused']);
