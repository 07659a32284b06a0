// Which hosts a rollout or fleet rollback means, and the strategy a start body asks for: decided purely.
import { sharedError } from '../../shared/errors.js';
import { LIMITS } from '../../shared/limits.js';
import type { StartRolloutBody, Targets } from '../../shared/rollout-api.js';
import { matchesSelector, parseSelector } from '../../shared/selector.js';
import { formatZodIssues } from '../../shared/validation.js';
import { controllerError } from '../errors.js';
import { StrategySchema, type Strategy } from './model.js';

/** A host as the engine needs it: where its updater is, what it runs, whether its updater channel is up. */
export interface FleetHost {
  name: string;
  /** HOST:PORT of the updater, null when unknown. */
  address: string | null;
  labels: Record<string, string>;
  /** The release the host runs now (its updater's active release, else its agent's). */
  release: string | null;
  /** The updater's channel is open now. */
  updaterOnline: boolean;
  /**
   * Channel down but not yet taken for offline: the time (ms) by which it is expected back (a restarted controller's
   * channels are still reconnecting, or the channel dropped less than the offline timeout ago). Null otherwise.
   */
  reconnectBy?: number | null;
}

/** The enrolled hosts (the controller builds it from the store, the reports and the channel hub). */
export interface FleetSource {
  list(): Promise<FleetHost[]>;
}

/** Strategy defaults (DESIGN.md §7 flags left out): canary 1, batch 25%, max-parallel 10, max-failures 0. */
export const DEFAULT_STRATEGY: Strategy = Object.freeze({
  canary: 1, batch: { percent: 25 }, maxParallel: 10, maxFailures: { count: 0 }, pauseBetweenMs: 0, hostDeadlineMs: LIMITS['rollout.host-deadline'].value,
});

/** The strategy of a start body: defaults filled in, bounds checked (the message names the field). */
export function resolveStrategy(partial: StartRolloutBody['strategy']): Strategy {
  const parsed = StrategySchema.safeParse({ ...DEFAULT_STRATEGY, ...partial });
  if (!parsed.success) throw sharedError('SWARM_ERR_BAD_REQUEST', `strategy: ${formatZodIssues(parsed.error)}`);
  return parsed.data;
}

/** The hosts targets name, sorted by name (a plan is reproducible); unknown names and bad selectors are refused. */
export function selectHosts(fleet: readonly FleetHost[], targets: Targets | { rollout: string }): FleetHost[] {
  let chosen: FleetHost[];
  if ('all' in targets) chosen = [...fleet];
  else if ('hosts' in targets) {
    const byName = new Map(fleet.map((h) => [h.name, h]));
    const missing = [...new Set(targets.hosts)].filter((n) => !byName.has(n));
    if (missing.length > 0) throw controllerError('SWARM_ERR_HOST_NOT_FOUND', `not enrolled hosts: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}; see swarmctl host list`);
    chosen = [...new Set(targets.hosts)].map((n) => byName.get(n)!);
  } else if ('selector' in targets) {
    const terms = parseSelector(targets.selector);
    if (typeof terms === 'string') throw sharedError('SWARM_ERR_BAD_REQUEST', `selector: ${terms}`);
    chosen = fleet.filter((h) => matchesSelector(h.labels, terms));
  } else {
    throw sharedError('SWARM_ERR_BAD_REQUEST', 'targets: give exactly one of all, hosts, selector');
  }
  return chosen.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
