// planRollout: which hosts go in which wave, decided purely from the targets and the strategy.
import { resolveAmount, type Strategy } from './model.js';

export interface PlannedHost {
  name: string;
  wave: number;
  /** Already on the release: never pushed. */
  skipped: boolean;
}

export interface RolloutPlan {
  waves: string[][];
  hosts: PlannedHost[];
  /** Failures allowed before the rollout pauses itself. */
  budget: number;
}

/**
 * Waves from targets (in the given order: callers sort by name, so a plan is reproducible) and the strategy:
 * the first `canary` hosts that need the release form wave 0, then waves of `batch` hosts. Hosts already on
 * the release are skipped and placed in no wave's work, so a canary is always a host that really changes.
 */
export function planRollout(targets: ReadonlyArray<{ name: string; release: string | null }>, release: string, strategy: Strategy): RolloutPlan {
  const todo = targets.filter((t) => t.release !== release).map((t) => t.name);
  const skipped = targets.filter((t) => t.release === release).map((t) => t.name);
  const waves: string[][] = [];
  let rest = todo;
  if (strategy.canary > 0 && rest.length > 0) {
    waves.push(rest.slice(0, strategy.canary));
    rest = rest.slice(strategy.canary);
  }
  const size = Math.max(1, resolveAmount(strategy.batch, targets.length) || rest.length);
  for (let i = 0; i < rest.length; i += size) waves.push(rest.slice(i, i + size));
  const hosts: PlannedHost[] = [
    ...waves.flatMap((names, wave) => names.map((name) => ({ name, wave, skipped: false }))),
    ...skipped.map((name) => ({ name, wave: 0, skipped: true })),
  ];
  return { waves, hosts, budget: resolveAmount(strategy.maxFailures, targets.length) };
}
