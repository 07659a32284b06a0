// The updater's planner: pure decisions of update, rollback and recovery (every move, in order); the executor applies them.
import type { UpdaterErrorCode } from './errors.js';
import type { Journal, RollingBackJournal, SwitchingJournal } from './journal.js';
import type { SelfUpdateJournal } from './self-update-journal.js';

/** A record's error, its code checked against the updater's catalogue (a type-only import: this module stays pure). */
const fault = (code: UpdaterErrorCode, message: string): { code: UpdaterErrorCode; message: string } => ({ code, message });

export interface RollbackPlan {
  /** Try these in order until one is healthy. */
  candidates: string[];
  /** The release to mark bad once a candidate is healthy (null: nothing failed, e.g. an interrupted switch). */
  failed: string | null;
}

/**
 * Candidates: the preferred ones first (the release that was active, then prev), then releases that were healthy
 * here (newest first); never the failed one, never twice, only usable ones (installed, not marked bad).
 * `returnTo` (the release an asked-for rollback leaves) goes last: if nothing older is healthy we go back to it;
 * a rollback goes back, so releases that committed here after it are not candidates (it is not marked bad).
 */
export function planRollback(input: {
  failed: string | null;
  preferred: ReadonlyArray<string | null>;
  history: readonly string[];
  usable: ReadonlySet<string>;
  returnTo?: string | null;
}): RollbackPlan {
  const seen = new Set<string>();
  const candidates: string[] = [];
  const left = input.returnTo ? input.history.indexOf(input.returnTo) : -1;
  for (const c of [...input.preferred, ...input.history.slice(left + 1)]) {
    if (!c || c === input.failed || seen.has(c) || !input.usable.has(c)) continue;
    seen.add(c);
    candidates.push(c);
  }
  if (input.returnTo && !seen.has(input.returnTo)) candidates.push(input.returnTo);
  return { candidates, failed: input.failed };
}

/** After landing on `target`: prev is the next candidate that is neither the target nor the failed release. */
export function choosePrevAfter(target: string, candidates: readonly string[], failed: string | null): string | null {
  return candidates.find((c) => c !== target && c !== failed) ?? null;
}

/** What the releases on disk say, for choosing rollback candidates. */
export interface ReleasesSeen {
  /** Release dir names that were healthy here, newest first. */
  history: readonly string[];
  /** Installed and not marked bad. */
  usable: ReadonlySet<string>;
}

/** The first journal of an update: active moves from what it is now to the new release. */
export function beginUpdate(input: { op: string; active: string | null; prev: string | null; next: string }): Omit<SwitchingJournal, 'at'> {
  return { op: input.op, phase: 'switching', previous: input.active, next: input.next, prevBefore: input.prev };
}

/**
 * The first journal of an asked-for rollback, or null when there is nowhere to go: `prev`, then older releases
 * that were healthy here, and the release it leaves last (a host returns to it if nothing older comes up).
 */
export function beginRollback(input: { op: string; active: string; prev: string | null } & ReleasesSeen): Omit<RollingBackJournal, 'at'> | null {
  const { candidates } = planRollback({ failed: input.active, preferred: [input.prev], history: input.history, usable: input.usable, returnTo: input.active });
  const first = candidates[0];
  if (!first || first === input.active) return null;
  return {
    op: input.op, phase: 'rolling-back', cause: 'requested', leaving: input.active, target: first, fallbacks: candidates.slice(1),
    prevAfter: choosePrevAfter(first, candidates, input.active), prevBefore: input.prev, reason: `rolled back on request from ${input.active}`,
  };
}

/** What the executor saw since the last step. */
export type Observation =
  /** The operation starts from this journal (a rolling-back journal is on disk; a switching one is not yet). */
  | { type: 'begin' }
  /** The updater restarted and found this journal; `active` is the release dir active points at now. */
  | { type: 'resumed'; active: string | null }
  /** prev and active now point at the switching journal's previous and next. */
  | { type: 'switched' }
  /** Active points at the rolling-back journal's target. */
  | { type: 'pointed' }
  /** The rolling-back journal's target is not installed (removed by hand). */
  | { type: 'missing' }
  /** An interrupted switch was undone: links back on `previous`, its agent restarted. */
  | { type: 'returned' }
  /** The agent came up healthy (through the watch window when one was asked for). */
  | { type: 'healthy' }
  /** It did not; `cut`: a rollback request ended its probe/watch. */
  | ({ type: 'unhealthy'; reason: string; cut: boolean } & ReleasesSeen);

export interface RecordError {
  code: string;
  message: string;
}

/** A step to add to the operation record before the move. */
export interface Note {
  step: string;
  detail?: string;
  error?: RecordError;
}

/** A move. The executor does exactly this, then reports what it saw as the next observation. */
export type Step =
  /** Write the switching journal (it must be durable), point prev at previous, then active at next. */
  | { do: 'switch'; journal: Omit<SwitchingJournal, 'at'> }
  /** Restart the agent on `release`, probe it, and watch it for the window when `watch`. */
  | { do: 'bring-up'; release: string; watch: boolean }
  /** Note why, journal the rollback (best effort: the switching journal still leads a restart back), start it. */
  | { do: 'roll-back'; journal: Omit<RollingBackJournal, 'at'>; note: Note }
  /** The target was not healthy (or is gone): journal the next candidate (best effort) and go on with it. */
  | { do: 'fall-back'; journal: Omit<RollingBackJournal, 'at'>; note: Note | null }
  /** Point active at `active` (prev at `prev`) and note it; reports `missing` when `active` is not installed. */
  | { do: 'point'; active: string; prev: string | null }
  /** Undo a switch that never happened: links back (when there was a release before), restart and probe it (logged only). */
  | { do: 'return'; active: string | null; prev: string | null }
  /**
   * End the operation: note, mark `markBad.release` bad (best effort), finish the record with `state` (`to`: the release
   * active is on; `error`: replaces the record's error, `errorIfNone`: only when it has none), clear the journal.
   * `commit`: the release proved healthy (history, pruning).
   */
  | {
    do: 'finish'; state: 'committed' | 'rolled-back' | 'failed'; to: string | null; markBad: BadMark | null; commit: boolean;
    note: Note | null; error?: RecordError | null; errorIfNone?: RecordError;
  };

/** A release to mark bad, and why (the mark keeps the installer refusing it). */
export interface BadMark {
  release: string;
  reason: string;
}

/** Why a bad mark is written when the journal does not say (a journal from before reasons were journaled). */
export const UNKNOWN_ROLLBACK_REASON = 'rollback interrupted by an updater restart';

/** Every move of update, rollback and recovery: one function of the journal and what was just seen. */
export function nextStep(j: Journal, o: Observation): Step {
  return j.phase === 'switching' ? nextSwitchingStep(j, o) : nextRollingBackStep(j, o);
}

function nextSwitchingStep(j: SwitchingJournal, o: Observation): Step {
  const { at: _at, ...journal } = j;
  switch (o.type) {
    case 'begin':
      return { do: 'switch', journal };
    case 'switched':
      return { do: 'bring-up', release: j.next, watch: true };
    case 'resumed':
      // The three ways a restart finds a switch: active already on the new release (finish it), or not (undo it).
      if (o.active === j.next) return { do: 'bring-up', release: j.next, watch: true };
      return { do: 'return', active: j.previous, prev: j.prevBefore === j.previous ? null : j.prevBefore };
    case 'returned':
      return {
        do: 'finish', state: 'failed', to: null, markBad: null, commit: false, note: null,
        error: fault('SWARM_ERR_UPDATER_INTERRUPTED', 'the updater stopped before switching releases; nothing changed, send the update again'),
      };
    case 'healthy':
      return { do: 'finish', state: 'committed', to: j.next, markBad: null, commit: true, note: null, error: null };
    case 'unhealthy':
      return rollBackFailedUpdate(j, o);
    case 'pointed':
    case 'missing':
      throw new Error(`planner: ${o.type} cannot follow a switching journal`);
  }
}

/** A new release failed (or a rollback request cut its probe/watch): back to where it came from, or further. */
function rollBackFailedUpdate(j: SwitchingJournal, o: Extract<Observation, { type: 'unhealthy' }>): Step {
  const reason = o.cut ? `a rollback request ended the new release's probe/watch; rolling back to ${j.previous ?? 'nothing'}` : o.reason;
  const note: Note = o.cut
    ? { step: 'preempted', detail: reason, error: fault('SWARM_ERR_UPDATER_PREEMPTED', reason) }
    : { step: 'unhealthy', detail: reason, error: fault('SWARM_ERR_UPDATER_AGENT_UNHEALTHY', reason) };
  const { candidates } = planRollback({ failed: j.next, preferred: [j.previous, j.prevBefore], history: o.history, usable: o.usable });
  const first = candidates[0];
  if (!first) {
    return {
      do: 'finish', state: 'failed', to: null, markBad: { release: j.next, reason }, commit: false, note,
      error: fault('SWARM_ERR_UPDATER_AGENT_UNHEALTHY', `${reason}; no previous release to return to`),
    };
  }
  return {
    do: 'roll-back', note,
    journal: {
      op: j.op, phase: 'rolling-back', cause: 'failed', leaving: j.next, target: first, fallbacks: candidates.slice(1),
      prevAfter: choosePrevAfter(first, candidates, j.next), prevBefore: j.prevBefore, reason: reason.slice(0, MARK_REASON_CHARS),
    },
  };
}

/** A bad mark's reason, as journaled. */
const MARK_REASON_CHARS = 500;

function nextRollingBackStep(j: RollingBackJournal, o: Observation): Step {
  switch (o.type) {
    case 'begin':
    case 'resumed':
      // Idempotent: pointing active at the target again is what finishing an interrupted rollback means.
      return { do: 'point', active: j.target, prev: j.prevAfter === j.target ? null : j.prevAfter };
    case 'pointed':
      // No watch window: the old release has proven itself here, and speed matters.
      return { do: 'bring-up', release: j.target, watch: false };
    case 'healthy':
      return finishRollback(j);
    case 'missing':
      return fallBack(j, null);
    case 'unhealthy':
      return fallBack(j, { step: 'rollback-target-unhealthy', detail: `${j.target}: ${o.reason}` });
    case 'switched':
    case 'returned':
      throw new Error(`planner: ${o.type} cannot follow a rolling-back journal`);
  }
}

function finishRollback(j: RollingBackJournal): Step {
  const failed = j.cause === 'failed';
  if (j.target === j.leaving) {
    // Only an asked-for rollback lists the release it leaves: nothing older came up, so the host went back to it.
    return {
      do: 'finish', state: 'failed', to: j.target, markBad: null, commit: false, note: null,
      error: fault('SWARM_ERR_UPDATER_NO_ROLLBACK_TARGET', `no older release became healthy; returned to ${j.target}`),
    };
  }
  return {
    // Only a release that failed is marked bad: an asked-for rollback (a drill) must not burn a good release.
    do: 'finish', state: 'rolled-back', to: j.target, markBad: failed ? { release: j.leaving, reason: reasonOf(j) } : null, commit: false, note: null,
    ...(failed ? { errorIfNone: fault('SWARM_ERR_UPDATER_AGENT_UNHEALTHY', reasonOf(j)) } : {}),
  };
}

function reasonOf(j: RollingBackJournal): string {
  return j.reason ?? UNKNOWN_ROLLBACK_REASON;
}

function fallBack(j: RollingBackJournal, note: Note | null): Step {
  const [next, ...rest] = j.fallbacks;
  if (next === undefined) {
    // Nothing came up, old releases included: the fault is the host's (its identity, its config, a port), not the
    // new release's, so it is not marked bad (it would be refused for good once the host is fixed).
    return {
      do: 'finish', state: 'failed', to: null, markBad: null, commit: false, note,
      error: fault('SWARM_ERR_UPDATER_ROLLBACK_FAILED', `no installed release became healthy (${reasonOf(j)}); the host itself is at fault, so ${j.leaving} is not marked bad`),
    };
  }
  const { at: _at, ...rest0 } = j;
  return { do: 'fall-back', note, journal: { ...rest0, target: next, fallbacks: rest, prevAfter: choosePrevAfter(next, rest, j.leaving) } };
}

/** What the supervisor does with the self-update journal it finds before starting a worker. */
export type SupervisorStep =
  | { do: 'run' }
  /** Start the new updater on trial (count the attempt first: it gets one). */
  | { do: 'trial'; journal: SelfUpdateJournal }
  /** Put the previous updater back, mark the new one bad, close the record as rolled back. */
  | { do: 'restore'; reason: string };

/** The supervisor's decision at each worker start: `activeDir` is what updater/active points at. */
export function nextSupervisorStep(j: SelfUpdateJournal | null, activeDir: string | null): SupervisorStep {
  if (j?.phase !== 'pending') return { do: 'run' };
  if (j.attempts >= 1) return { do: 'restore', reason: 'the new updater did not confirm before it stopped' };
  if (activeDir !== j.next) return { do: 'restore', reason: 'the switch to the new updater never happened' };
  return { do: 'trial', journal: { ...j, attempts: j.attempts + 1 } };
}
