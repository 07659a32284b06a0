// decideRollout: from the stored rollout, its hosts and the clock, what to do next. Pure: the executor applies
// each decision (writing it to the store before its effect), so a restarted controller decides the same again.
import { FAILED_STATES, type RolloutHostState, type RolloutReason, type RolloutState, type Strategy } from './model.js';

export interface RolloutView {
  state: RolloutState;
  strategy: Strategy;
  /** Failures allowed (resolved from the strategy at start; `resume --max-failures` replaces it). */
  budget: number;
  /** The wave being worked on; -1 before the first wave starts. */
  currentWave: number;
  waveCount: number;
  /** When the current wave ended (ms; null while it runs), for the pause between waves. */
  waveEndedAt: number | null;
  /** The operator resumed after a failed canary: the canary's failures then count only against the budget. */
  canaryAccepted: boolean;
}

export interface HostView {
  name: string;
  wave: number;
  state: RolloutHostState;
}

export type RolloutAction =
  | { type: 'start-wave'; wave: number; state: 'canary' | 'rolling' }
  | { type: 'end-wave'; wave: number; at: number }
  | { type: 'push'; host: string }
  | { type: 'mark-unreachable'; host: string }
  | { type: 'pause'; reason: Extract<RolloutReason, 'canary-failed' | 'budget-exceeded'>; failures: number }
  | { type: 'finish'; failures: number }
  | { type: 'wait'; until: number | null };

export interface Observation {
  now: number;
  /** Hosts whose channel is down now: at their turn they are `unreachable`, never pushed. */
  offline: ReadonlySet<string>;
  /**
   * Hosts whose channel is down but expected back by the given time (ms), e.g. right after a controller restart:
   * at their turn they wait (no slot, no mark) until they are back or that time passes, when they are offline.
   */
  reconnecting?: ReadonlyMap<string, number>;
}

/** Failed, rolled-back and unreachable hosts: what the budget counts. */
export function countFailures(hosts: readonly HostView[]): number {
  return hosts.filter((h) => FAILED_STATES.has(h.state)).length;
}

/**
 * The next actions. At most `maxParallel` hosts are ever `pushing`; only hosts of the current wave are touched,
 * so no host of a later wave is contacted before its wave begins; a paused, aborted or done rollout starts
 * nothing (pushes already in flight finish and are settled by the executor).
 */
export function decideRollout(r: RolloutView, hosts: readonly HostView[], obs: Observation): RolloutAction[] {
  if (r.state === 'paused' || r.state === 'aborted' || r.state === 'done') return [];
  const failures = countFailures(hosts);
  const hasCanary = r.strategy.canary > 0;
  if (r.currentWave < 0) {
    if (r.waveCount === 0) return [{ type: 'finish', failures }];
    return [{ type: 'start-wave', wave: 0, state: hasCanary ? 'canary' : 'rolling' }];
  }
  const inCanary = hasCanary && r.currentWave === 0;
  if (inCanary && !r.canaryAccepted && hosts.some((h) => h.wave === 0 && FAILED_STATES.has(h.state))) {
    return [{ type: 'pause', reason: 'canary-failed', failures }];
  }
  if (failures > r.budget) return [{ type: 'pause', reason: 'budget-exceeded', failures }];

  const wave = hosts.filter((h) => h.wave === r.currentWave && h.state !== 'skipped');
  const pending = wave.filter((h) => h.state === 'pending');
  const inFlight = hosts.filter((h) => h.state === 'pushing').length;
  if (pending.length > 0) {
    const actions: RolloutAction[] = [];
    let slots = r.strategy.maxParallel - inFlight;
    let failed = failures;
    // An unreachable host is a failure now: once one would pause the rollout, nothing more starts in this step.
    const wouldPause = (): boolean => failed > r.budget || (inCanary && !r.canaryAccepted && failed > failures);
    let waitUntil: number | null = null;
    // A host's turn comes when a slot is free: an offline one is then unreachable (it takes no slot), never pushed;
    // a reconnecting one is passed over for now (the hosts after it go on) and waits for its channel.
    for (const h of pending) {
      if (slots <= 0 || wouldPause()) break;
      const back = obs.reconnecting?.get(h.name);
      if (back !== undefined) {
        waitUntil = waitUntil === null ? back : Math.min(waitUntil, back);
      } else if (obs.offline.has(h.name)) {
        actions.push({ type: 'mark-unreachable', host: h.name });
        failed++;
      } else {
        actions.push({ type: 'push', host: h.name });
        slots--;
      }
    }
    if (waitUntil !== null) actions.push({ type: 'wait', until: waitUntil });
    return actions.length > 0 ? actions : [{ type: 'wait', until: null }];
  }
  if (wave.some((h) => h.state === 'pushing')) return [{ type: 'wait', until: null }];
  // The wave is over: record when (the event log says so, and the pause between waves counts from it).
  const next = r.currentWave + 1;
  if (next >= r.waveCount) return [{ type: 'finish', failures }];
  if (r.waveEndedAt === null) return [{ type: 'end-wave', wave: r.currentWave, at: obs.now }];
  const due = r.waveEndedAt + r.strategy.pauseBetweenMs;
  if (obs.now < due) return [{ type: 'wait', until: due }];
  return [{ type: 'start-wave', wave: next, state: 'rolling' }];
}
