// The updater's operations (DESIGN.md §5): update, rollback and recovery; one at a time, durable records, a journal.
import { access, rename } from 'node:fs/promises';
import type { Logger } from 'pino';
import { isSwarmError, sharedError, SwarmError } from '../shared/errors.js';
import type { AgentHealth, OperationRecord, UpdaterStatus } from '../shared/wire.js';
import type { AgentRunner } from './agent-runner.js';
import type { UpdaterConfig } from './config.js';
import { installVerdict, updaterError, updaterFault } from './errors.js';
import { Executor } from './executor.js';
import { faultPoint } from './fault.js';
import { CommitHistory } from './history.js';
import { JournalFile, type Journal } from './journal.js';
import type { OperationKind, OperationStore } from './operations.js';
import type { HostPaths } from './paths.js';
import { beginRollback, beginUpdate } from './plan.js';
import { Preemption } from './preemption.js';
import type { FetchHealth } from './probe.js';
import { findMark, type BadMark } from './install/index.js';
import { refOf, type InstalledRelease, type ReleaseStoreLike } from './release-port.js';

export interface UpdaterDeps {
  config: UpdaterConfig;
  paths: HostPaths;
  store: ReleaseStoreLike;
  runner: AgentRunner;
  fetchHealth: FetchHealth;
  operations: OperationStore;
  logger: Logger;
  version: string;
  signingPublicKeyPem?: string;
  /** false for the offline `swarm-updater rollback` in spawn mode: links move, the agent starts with the next updater. */
  agentManaged?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Called after every operation (the controller link sends a fresh status). */
  onOperationEnd?: () => void;
  /** The journal (default: paths.journal); a seam for tests of write failures. */
  journal?: JournalFile;
}

/** Who asks for a rollback (`local`, or the caller's SPIFFE identity) and, optionally, why. */
export interface RollbackRequest {
  requestedBy: string;
  reason?: string;
}

export interface UpdateRequest {
  body: NodeJS.ReadableStream | AsyncIterable<Uint8Array>;
  id: string;
  signature?: string;
  /** Aborted when the client leaves before the whole body arrived. */
  signal?: AbortSignal;
}

interface Running {
  id: string;
  kind: OperationKind;
  releaseId: string | null;
  done: Promise<OperationRecord>;
  /** Set for operations a rollback request may cut short (update, self-update). */
  preemption?: Preemption;
}

export class Updater {
  readonly startedAt = new Date().toISOString();
  private running: Running | null = null;
  private readonly journal: JournalFile;
  private readonly history: CommitHistory;
  private readonly executor: Executor;
  private lastAgent: AgentHealth | null = null;
  private lastAgentError: string | null = null;
  /** Work an operation leaves behind (pruning); the next operation starts after it. */
  private housekeeping: Promise<void> = Promise.resolve();
  /** A rollback waiting for the operation it pre-empted; further rollback requests join it. */
  private preempting: Promise<OperationRecord> | null = null;

  constructor(private readonly d: UpdaterDeps) {
    this.journal = d.journal ?? new JournalFile(d.paths.journal);
    this.history = new CommitHistory(d.paths.history);
    this.executor = new Executor({
      config: d.config, store: d.store, runner: d.runner, fetchHealth: d.fetchHealth, operations: d.operations, journal: this.journal, history: this.history,
      logger: d.logger, ...(d.env ? { env: d.env } : {}), ...(d.agentManaged === false ? { agentManaged: false } : {}),
      afterCommit: (work) => { this.housekeeping = work; },
    });
  }

  get runningId(): string | null {
    return this.running?.id ?? null;
  }

  /** Empty staging, load records, and finish an interrupted operation (in the background: requests get 409 meanwhile). */
  async start(): Promise<void> {
    await this.d.store.init();
    await this.d.operations.init();
    let j: Journal | null;
    try {
      j = await this.journal.read();
    } catch (err) {
      // Written atomically, so only a hand edit gets here: set it aside; the links are atomic, active is complete.
      const aside = `${this.d.paths.journal}.corrupt-${Date.now()}`;
      this.d.logger.error({ err, aside }, 'journal unreadable; set aside, continuing on whatever active points to');
      await rename(this.d.paths.journal, aside);
      j = null;
    }
    if (!j) {
      await this.closeUnfinishedRecords();
      const hasActive = (await this.d.store.readLinks()).active !== null;
      if (this.d.agentManaged !== false && hasActive) await this.d.runner.ensureRunning().catch((err: unknown) => this.d.logger.error({ err }, 'agent did not start'));
      return;
    }
    this.d.logger.warn({ op: j.op, phase: j.phase, ...(j.phase === 'switching' ? { previous: j.previous, next: j.next } : { leaving: j.leaving, target: j.target }) }, 'finishing an interrupted operation');
    void this.track(j.op, 'recovery', null, () => this.recover(j)).catch((err: unknown) => this.d.logger.error({ err }, 'recovery failed'));
  }

  /** Load records only (local commands: no staging cleanup, no recovery, no agent start, no directory created). */
  async load(): Promise<void> {
    await this.d.operations.load();
  }

  /** The interrupted operation the journal names, if any. */
  async pendingJournal(): Promise<Journal | null> {
    return this.journal.read();
  }

  /** Resolves when no operation runs (tests, shutdown). */
  async whenIdle(): Promise<void> {
    for (let i = 0; i < 1000 && this.running; i++) await this.running.done.catch(() => undefined);
    await this.housekeeping;
  }

  update(req: UpdateRequest): Promise<OperationRecord> {
    if (this.running) {
      if (this.running.kind === 'update' && this.running.releaseId === req.id) return this.running.done;
      return Promise.reject(this.busy());
    }
    const id = this.d.operations.nextId();
    const preemption = new Preemption();
    return this.track(id, 'update', req.id, () => this.runUpdate(id, req, preemption), preemption);
  }

  /**
   * Never refused because an install is in flight (DESIGN.md §5): an update or self-update that has not switched is
   * stopped (staging discarded, active untouched) and the rollback runs at once; an update that has switched has its
   * probe or watch window ended as a failure, so it rolls itself back to where it came from, and that is the answer.
   */
  rollback(request: RollbackRequest): Promise<OperationRecord> {
    if (this.preempting) return this.preempting;
    const r = this.running;
    if (r?.preemption && (r.kind === 'update' || !r.preemption.hasSwitched)) {
      const before = r.preemption.preempt(updaterError('SWARM_ERR_UPDATER_PREEMPTED', `${r.kind} ${r.id} was pre-empted by a rollback request before it switched releases: staging was discarded and active was never touched; send it again after the incident`));
      this.d.logger.warn({ op: r.id, kind: r.kind, beforeSwitch: before }, before ? 'rollback requested: stopping the operation in flight' : 'rollback requested: ending the new release\'s probe/watch as a failure');
      const then = (rec?: OperationRecord): Promise<OperationRecord> => (rec?.state === 'rolled-back' ? Promise.resolve(rec) : this.startRollback(request));
      const waiting = r.done.then(then, () => then());
      this.preempting = waiting;
      const clear = (): void => {
        if (this.preempting === waiting) this.preempting = null;
      };
      waiting.then(clear, clear);
      return waiting;
    }
    if (r) return Promise.reject(this.busy());
    return this.startRollback(request);
  }

  private startRollback(request: RollbackRequest): Promise<OperationRecord> {
    if (this.running) return Promise.reject(this.busy());
    const id = this.d.operations.nextId();
    return this.track(id, 'rollback', null, () => this.runRollback(id, request));
  }

  /** Run something else under the one-operation lock (self-update); a rollback request may pre-empt it before it switches. */
  exclusive(kind: OperationKind, releaseId: string | null, fn: (opId: string, preemption: Preemption) => Promise<OperationRecord>): Promise<OperationRecord> {
    if (this.running) {
      if (this.running.kind === kind && releaseId !== null && this.running.releaseId === releaseId) return this.running.done;
      return Promise.reject(this.busy());
    }
    const id = this.d.operations.nextId();
    const preemption = new Preemption();
    return this.track(id, kind, releaseId, () => fn(id, preemption), preemption);
  }

  /**
   * Clear a bad mark (id or a unique prefix of >= 8 hex): the installer accepts the release again. Not an operation:
   * it moves no link and needs no lock; who asked is logged.
   */
  async unmarkBad(query: string, requestedBy: string): Promise<BadMark> {
    const found = findMark(await this.d.store.listBad(), query);
    if ('none' in found) throw updaterError('SWARM_ERR_UPDATER_NOT_MARKED_BAD', `no release marked bad on this host matches ${query}`);
    if ('ambiguous' in found) {
      throw updaterError('SWARM_ERR_UPDATER_RELEASE_AMBIGUOUS', `${query} matches ${found.ambiguous.length} marked releases (${found.ambiguous.map((id) => id.slice(0, 16)).join(', ')}); give more of the id`);
    }
    if (!(await this.d.store.unmarkBad(found.mark.id))) throw updaterError('SWARM_ERR_UPDATER_NOT_MARKED_BAD', `release ${found.mark.id} is no longer marked bad`);
    this.d.logger.warn({ release: found.mark.id, requestedBy, was: found.mark.reason }, 'bad mark cleared');
    return found.mark;
  }

  async status(): Promise<UpdaterStatus> {
    const links = await this.d.store.readLinks().catch(() => ({ active: null, prev: null }));
    const agent = await this.d.fetchHealth().then((h) => {
      this.lastAgentError = null;
      return h;
    }, (err: unknown) => {
      this.lastAgentError = describeFetchError(err);
      return null;
    });
    this.lastAgent = agent;
    const healthy = agent !== null && agent.status === 'ok' && agent.release === links.active?.id;
    return {
      status: this.running ? 'busy' : healthy ? 'ok' : 'degraded',
      version: this.d.version,
      pid: process.pid,
      startedAt: this.startedAt,
      active: links.active ? refOf(links.active) : null,
      prev: links.prev ? refOf(links.prev) : null,
      running: this.runningId,
      lastOperation: (await this.d.operations.latest()) ?? null,
      agent,
      badReleases: (await this.d.store.listBad().catch(() => [])).map((b) => b.id),
    };
  }

  get lastAgentHealth(): AgentHealth | null {
    return this.lastAgent;
  }

  /** Why the last status() got no answer from the agent (null when it answered). */
  get lastAgentProblem(): string | null {
    return this.lastAgentError;
  }

  private busy(): SwarmError {
    const running = this.running?.id ?? null;
    return updaterError('SWARM_ERR_UPDATER_BUSY', `operation ${running} is running on this host; wait for it (GET /v1/operations/${running}) and retry`, { details: { running } });
  }

  private track(id: string, kind: OperationKind, releaseId: string | null, fn: () => Promise<OperationRecord>, preemption?: Preemption): Promise<OperationRecord> {
    const done = this.housekeeping.then(fn).catch(async (err: unknown) => {
      // Refusals are answers; anything else (EIO, ENOSPC...) mid-switch must not leave the host half-way.
      if (isSwarmError(err) && err.status < 500) throw err;
      const j = await this.journal.read().catch(() => null);
      if (!j || j.op !== id) throw err;
      this.d.logger.error({ err, op: id }, 'operation failed mid-way; finishing it from the journal');
      return this.recover(j);
    });
    const entry: Running = { id, kind, releaseId, done, ...(preemption ? { preemption } : {}) };
    this.running = entry;
    const clear = (): void => {
      if (this.running === entry) this.running = null;
      this.d.onOperationEnd?.();
    };
    done.then(clear, clear);
    return done;
  }

  private async runUpdate(opId: string, req: UpdateRequest, preemption: Preemption): Promise<OperationRecord> {
    const ops = this.d.operations;
    const prior = await ops.latestForRelease(req.id);
    // The same outcome again, unless an operator cleared the release's bad mark since (unmark-bad): then it is a new try.
    if (prior?.state === 'rolled-back' && (await this.d.store.isBad(req.id).catch(() => true))) return prior;
    if (prior?.state === 'committed' && (await this.d.store.readLinks()).active?.id === req.id) return prior;
    const record = await ops.create(opId, 'update', { id: req.id, version: null });
    const log = this.d.logger.child({ op: opId, release: req.id });
    let installed: InstalledRelease;
    try {
      installed = await this.d.store.install({
        body: req.body,
        expectedId: req.id,
        ...(req.signature ? { signature: req.signature } : {}),
        ...(this.d.signingPublicKeyPem ? { signingPublicKeyPem: this.d.signingPublicKeyPem } : {}),
        limits: this.d.config.limits,
        signal: req.signal ? AbortSignal.any([req.signal, preemption.signal]) : preemption.signal,
      });
    } catch (err) {
      const e = isSwarmError(err) ? err : sharedError('SWARM_ERR_INTERNAL', `install failed: ${(err as Error).message}`, { cause: err });
      log.warn({ code: e.code }, `release refused: ${e.message}`);
      // Pre-empted is not a verdict on the release: the operation failed, the release was never judged.
      await ops.finish(record, installVerdict(e), { error: { code: e.code, message: e.message } });
      throw e;
    }
    await ops.step(record, 'installed', { release: { id: installed.id, version: installed.version }, to: refOf(installed) });
    faultPoint('after-staged', this.d.env);
    const links = await this.d.store.readLinks();
    if (links.active?.id === installed.id) {
      await this.history.append(installed.id, installed.dirName).catch((err: unknown) => this.d.logger.error({ err, release: installed.id }, 'could not record the release in the history'));
      return ops.finish(record, 'committed', { from: refOf(installed) });
    }
    record.from = links.active ? refOf(links.active) : null;
    const j = beginUpdate({ op: opId, active: links.active?.dirName ?? null, prev: links.prev?.dirName ?? null, next: installed.dirName });
    try {
      preemption.enterSwitch();
    } catch (err) {
      const e = err as SwarmError;
      await ops.finish(record, 'failed', { error: { code: e.code, message: e.message } });
      throw e;
    }
    this.d.runner.hold();
    try {
      return await this.executor.run(record, { ...j, at: '' }, { type: 'begin' }, preemption.signal);
    } finally {
      this.d.runner.release();
    }
  }

  private async runRollback(opId: string, request: RollbackRequest): Promise<OperationRecord> {
    const links = await this.d.store.readLinks();
    const active = links.active;
    if (!active) throw updaterError('SWARM_ERR_UPDATER_NOT_INSTALLED', 'nothing is installed here: there is no active release to roll back from');
    const list = await this.d.store.list();
    const rj = beginRollback({
      op: opId, active: active.dirName, prev: links.prev?.dirName ?? null,
      history: await this.history.goodNewestFirst(), usable: new Set(list.filter((r) => !r.bad).map((r) => r.dirName)),
    });
    if (!rj) {
      throw updaterError('SWARM_ERR_UPDATER_NO_ROLLBACK_TARGET', `no release to roll back to from ${active.dirName} (prev ${links.prev?.dirName ?? 'missing'}; bad or missing releases are skipped)`);
    }
    const asked = { requestedBy: request.requestedBy, ...(request.reason ? { reason: request.reason } : {}) };
    const record = await this.d.operations.create(opId, 'rollback', { id: active.id, version: active.version }, refOf(active), asked);
    this.d.logger.warn({ op: opId, from: active.dirName, to: rj.target, ...asked }, 'rollback requested');
    this.d.runner.hold();
    try {
      await this.journal.write(rj);
      faultPoint('rollback-after-journal', this.d.env);
      return await this.executor.run(record, { ...rj, at: '' }, { type: 'begin' });
    } finally {
      this.d.runner.release();
    }
  }

  /** Finish what the journal says was in flight when the updater died. */
  private async recover(j: Journal): Promise<OperationRecord> {
    const ops = this.d.operations;
    const record = (await ops.get(j.op)) ?? (await ops.create(j.op, 'recovery', null));
    if (record.state !== 'running') Object.assign(record, { state: 'running', endedAt: null });
    const [from, to] = j.phase === 'switching' ? [j.previous, j.next] : [j.leaving, j.target];
    await ops.step(record, 'recovering', {}, `updater restarted during ${j.phase} ${from ?? '-'} -> ${to}`);
    // A journal from before reasons were journaled: the record has it.
    const journal = j.phase === 'rolling-back' && j.reason === null && record.error ? { ...j, reason: record.error.message } : j;
    this.d.runner.hold();
    try {
      return await this.executor.run(record, journal, { type: 'resumed', active: (await this.d.store.readLinks()).active?.dirName ?? null });
    } finally {
      this.d.runner.release();
    }
  }

  /** Records a crash left `running` without a journal: the switch never started (or had committed). */
  private async closeUnfinishedRecords(): Promise<void> {
    const active = (await this.d.store.readLinks()).active;
    for (const r of await this.d.operations.unfinished()) {
      // A self-update with its journal still there belongs to the supervisor.
      if (r.kind === 'self-update' && (await fileExists(this.d.paths.selfUpdateJournal))) continue;
      if (r.to && active?.id === r.to.id && r.kind === 'update') await this.d.operations.finish(r, 'committed');
      else await this.d.operations.finish(r, 'failed', { error: updaterFault('SWARM_ERR_UPDATER_INTERRUPTED', 'the updater stopped before switching releases; nothing changed, send it again') });
    }
  }
}

/** undici says "fetch failed" and keeps the errno in `cause`: name what an operator can act on. */
function describeFetchError(err: unknown): string {
  const e = err as { message?: string; code?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? String(err);
}

async function fileExists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}
