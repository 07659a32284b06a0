// The executor: applies the planner's steps (links, agent restarts, probes, records, the journal, fault points).
import type { Logger } from 'pino';
import { sharedError } from '../shared/errors.js';
import { LIMITS } from '../shared/limits.js';
import type { AgentHealth, OperationRecord } from '../shared/wire.js';
import type { AgentRunner } from './agent-runner.js';
import type { UpdaterConfig } from './config.js';
import { faultPoint, type FaultPoint } from './fault.js';
import type { CommitHistory } from './history.js';
import type { Journal, JournalFile, RollingBackJournal } from './journal.js';
import type { OperationStore } from './operations.js';
import { nextStep, type Note, type Observation, type ReleasesSeen, type Step } from './plan.js';
import { waitHealthy, watchWindow, type FetchHealth, type ProbeResult } from './probe.js';
import { refOf, type ReleaseStoreLike } from './release-port.js';

export interface ExecutorDeps {
  config: UpdaterConfig;
  store: ReleaseStoreLike;
  runner: AgentRunner;
  fetchHealth: FetchHealth;
  operations: OperationStore;
  journal: JournalFile;
  history: CommitHistory;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** false: links move, the agent is neither restarted nor probed (offline rollback in spawn mode). */
  agentManaged?: boolean;
  /** Work a commit leaves (pruning): it runs after the answer, before the next operation. */
  afterCommit(work: Promise<void>): void;
}

/** A plan never needs more (shared/limits.ts says why). */
const MAX_STEPS = LIMITS['updater.plan.max-steps'].value;

export class Executor {
  constructor(private readonly d: ExecutorDeps) {}

  /** Drive the operation from `journal` and what was just observed to its end. `cut`: a rollback request ends the new release's probe/watch. */
  async run(record: OperationRecord, journal: Journal, first: Observation, cut?: AbortSignal): Promise<OperationRecord> {
    let j = journal;
    let o = first;
    for (let n = 0; n < MAX_STEPS; n++) {
      const step = nextStep(j, o);
      switch (step.do) {
        case 'switch':
          await this.switchLinks(record, step);
          j = { ...step.journal, at: '' };
          o = { type: 'switched' };
          break;
        case 'bring-up':
          o = await this.bringUp(step.release, step.watch, step.watch ? cut : undefined);
          break;
        case 'roll-back':
          await this.note(record, step.note);
          this.d.logger.warn({ op: record.id, release: step.journal.leaving, target: step.journal.target, reason: step.note.detail }, `${step.note.step}: rolling back`);
          j = await this.writeRollbackJournal(step.journal);
          this.fault('rollback-after-journal');
          o = { type: 'begin' };
          break;
        case 'fall-back':
          if (step.note) await this.note(record, step.note);
          j = await this.writeRollbackJournal(step.journal);
          o = { type: 'begin' };
          break;
        case 'point':
          o = await this.point(record, step.active, step.prev);
          break;
        case 'return':
          o = await this.returnTo(step.active, step.prev);
          break;
        case 'finish':
          return this.finish(record, j, step);
      }
    }
    throw sharedError('SWARM_ERR_INTERNAL', `operation ${record.id}: the plan did not end within ${MAX_STEPS} steps`);
  }

  private fault(step: FaultPoint): void {
    faultPoint(step, this.d.env);
  }

  private async note(record: OperationRecord, note: Note): Promise<void> {
    await this.d.operations.step(record, note.step, note.error ? { error: note.error } : {}, note.detail);
  }

  /** The switching journal must be on disk before any link moves: a write error fails the update here. */
  private async switchLinks(record: OperationRecord, step: Extract<Step, { do: 'switch' }>): Promise<void> {
    const { previous, next } = step.journal;
    await this.d.journal.write(step.journal);
    this.fault('after-journal');
    if (previous) {
      await this.d.store.setLinks({ active: previous, prev: previous });
      this.fault('after-prev-link');
    }
    await this.d.store.setLinks({ active: next, prev: previous });
    this.fault('after-active-link');
    this.d.logger.info({ op: record.id, from: previous, to: next }, 'switched; restarting the agent');
    await this.d.operations.step(record, 'switched');
  }

  private async bringUp(dir: string, watch: boolean, cut?: AbortSignal): Promise<Observation> {
    const rel = await this.d.store.get(dir);
    const outcome: ProbeResult = rel ? await this.restartAndProbe(rel.id, watch, cut) : { ok: false, reason: `release ${dir} is not installed` };
    if (outcome.ok) return { type: 'healthy' };
    return { type: 'unhealthy', reason: outcome.reason, cut: cut?.aborted ?? false, ...(await this.releasesSeen()) };
  }

  private async releasesSeen(): Promise<ReleasesSeen> {
    const list = await this.d.store.list();
    return { history: await this.d.history.goodNewestFirst(), usable: new Set(list.filter((r) => !r.bad).map((r) => r.dirName)) };
  }

  /**
   * Journal a rollback step. If it cannot be written (disk full), go on anyway: the switching journal still on disk
   * makes a restart return to `previous` as well, and staying on a failed release because of a full disk is worse.
   */
  private async writeRollbackJournal(rj: Omit<RollingBackJournal, 'at'>): Promise<RollingBackJournal> {
    try {
      await this.d.journal.write(rj);
    } catch (err) {
      this.d.logger.error({ err, op: rj.op }, 'rollback journal not written (disk full?); rolling back anyway');
    }
    return { ...rj, at: '' };
  }

  private async point(record: OperationRecord, active: string, prev: string | null): Promise<Observation> {
    if (!(await this.d.store.get(active))) return { type: 'missing' };
    await this.pointLinks(active, prev);
    this.fault('rollback-after-active-link');
    await this.d.operations.step(record, 'rolling-back', {}, `active -> ${active}`);
    return { type: 'pointed' };
  }

  /** The switch never happened: put prev back, make sure the old agent runs. */
  private async returnTo(active: string | null, prev: string | null): Promise<Observation> {
    if (active) await this.pointLinks(active, prev);
    const rel = active ? await this.d.store.get(active) : undefined;
    if (rel) {
      const o = await this.restartAndProbe(rel.id, false);
      if (!o.ok) this.d.logger.error({ reason: o.reason }, 'the previous release is not healthy after recovery');
    }
    return { type: 'returned' };
  }

  private async finish(record: OperationRecord, j: Journal, step: Extract<Step, { do: 'finish' }>): Promise<OperationRecord> {
    if (step.note) await this.note(record, step.note);
    const to = step.to ? await this.d.store.get(step.to) : undefined;
    // The release came up healthy; what is left is recording it.
    if (step.to) this.fault(j.phase === 'switching' ? 'before-commit' : 'rollback-before-commit');
    if (step.commit && to) await this.recordHealthy(to.id, to.dirName);
    if (step.markBad) await this.markBadDir(step.markBad.release, step.markBad.reason);
    const error = step.error !== undefined ? { error: step.error } : step.errorIfNone && !record.error ? { error: step.errorIfNone } : {};
    await this.d.operations.finish(record, step.state, { ...(to ? { to: refOf(to) } : {}), ...error });
    await this.d.journal.clear();
    if (step.state === 'committed') this.d.logger.info({ op: record.id, release: to?.id }, 'release committed');
    else if (step.state === 'rolled-back') this.d.logger.warn({ op: record.id, release: to?.id, left: step.markBad?.release }, 'rolled back');
    else this.d.logger.error({ op: record.id, code: record.error?.code }, record.error?.message ?? 'operation failed');
    if (step.commit) {
      // Pruning runs after the answer (deleting thousands of files takes a while) but before the next operation.
      this.d.afterCommit(this.d.store.prune(this.d.config.keep).then(
        (deleted) => void (deleted.length > 0 && this.d.logger.info({ deleted }, 'pruned old releases')),
        (err: unknown) => this.d.logger.warn({ err }, 'prune failed'),
      ));
    }
    return record;
  }

  /** Move the links; a prev that vanished (removed by hand) is dropped rather than blocking a rollback. */
  private async pointLinks(active: string, prev: string | null): Promise<void> {
    try {
      await this.d.store.setLinks({ active, prev });
    } catch (err) {
      if (prev === null || !(await this.d.store.get(active)) || (await this.d.store.get(prev))) throw err;
      this.d.logger.warn({ prev }, 'prev release is gone; leaving prev unset');
      await this.d.store.setLinks({ active, prev: null });
    }
  }

  /** Best effort: the history only orders rollback candidates; failing to write it must not fail a healthy commit. */
  private async recordHealthy(id: string, dirName: string): Promise<void> {
    await this.d.history.append(id, dirName).catch((err: unknown) => this.d.logger.error({ err, release: id }, 'could not record the release in the history'));
  }

  /** Best effort: a mark that cannot be written (disk full) must not undo a rollback that already succeeded. */
  private async markBadDir(dir: string, reason: string): Promise<void> {
    try {
      const rel = await this.d.store.get(dir);
      if (rel) await this.d.store.markBad(rel.id, reason.slice(0, 500));
    } catch (err) {
      this.d.logger.error({ err, dir }, 'could not mark the release bad');
    }
  }

  /** Restart on the release, probe it, and (`watch`: a new release) watch it; the watch's fault points are the update's. */
  private async restartAndProbe(expectId: string, watch: boolean, cut?: AbortSignal): Promise<ProbeResult> {
    if (this.d.agentManaged === false) return { ok: true, health: unknownHealth(expectId) };
    const ac = new AbortController();
    const off = this.d.runner.onEvent((e) => {
      if (e.type === 'exited' && !e.expected) ac.abort(`agent exited (code ${e.code}, signal ${e.signal})`);
    });
    const onCut = (): void => ac.abort('a rollback was requested');
    if (cut?.aborted) onCut();
    else cut?.addEventListener('abort', onCut, { once: true });
    try {
      try {
        await this.d.runner.restart();
      } catch (err) {
        return { ok: false, reason: (err as Error).message };
      }
      this.fault(watch ? 'after-restart' : 'rollback-after-restart');
      const p = this.d.config.probe;
      const probe = await waitHealthy({ fetch: this.d.fetchHealth, expectId, deadlineMs: p.deadlineMs, intervalMs: p.intervalMs, backoffMaxMs: p.backoffMaxMs, signal: ac.signal });
      if (!probe.ok || !watch) return probe;
      this.fault('after-probe');
      const w = this.d.config.watch;
      if (w.windowMs === 0) return probe;
      return await watchWindow({ fetch: this.d.fetchHealth, expectId, windowMs: w.windowMs, intervalMs: w.intervalMs, maxFailures: w.maxFailures, baseline: probe.health, signal: ac.signal });
    } finally {
      off();
      cut?.removeEventListener('abort', onCut);
    }
  }
}

function unknownHealth(id: string): AgentHealth {
  return { status: 'ok', release: id, version: 'unknown', pid: 0, startedAt: new Date(0).toISOString(), services: [] };
}
