// Self-update, worker side: install the new updater under <install-dir>/updater, journal `pending`, flip, hand over.
import type { Logger } from 'pino';
import { isSwarmError, sharedError } from '../shared/errors.js';
import type { OperationRecord } from '../shared/wire.js';
import type { Updater, UpdateRequest } from './engine.js';
import { installVerdict } from './errors.js';
import { faultPoint } from './fault.js';
import type { InstallLimits } from './install/index.js';
import type { OperationStore } from './operations.js';
import type { Preemption } from './preemption.js';
import { refOf, type ReleaseStoreLike } from './release-port.js';
import { SelfUpdateJournalFile } from './self-update-journal.js';

export interface SelfUpdaterDeps {
  /** A ReleaseStore rooted at <install-dir>/updater. */
  store: ReleaseStoreLike;
  journal: SelfUpdateJournalFile;
  operations: OperationStore;
  updater: Updater;
  limits: InstallLimits;
  keep: number;
  signingPublicKeyPem?: string;
  logger: Logger;
  /** Called once the answer is on its way: stop serving, stop the agent, exit so the supervisor starts the new code. */
  handOver: () => void;
  env?: NodeJS.ProcessEnv;
}

export class SelfUpdater {
  constructor(private readonly d: SelfUpdaterDeps) {}

  start(req: UpdateRequest): Promise<OperationRecord> {
    return this.d.updater.exclusive('self-update', req.id, (opId, preemption) => this.run(opId, req, preemption));
  }

  private async run(opId: string, req: UpdateRequest, preemption: Preemption): Promise<OperationRecord> {
    const ops = this.d.operations;
    const record = await ops.create(opId, 'self-update', { id: req.id, version: null });
    let installed;
    try {
      installed = await this.d.store.install({
        body: req.body, expectedId: req.id, limits: this.d.limits,
        ...(req.signature ? { signature: req.signature } : {}),
        ...(this.d.signingPublicKeyPem ? { signingPublicKeyPem: this.d.signingPublicKeyPem } : {}),
        signal: req.signal ? AbortSignal.any([req.signal, preemption.signal]) : preemption.signal,
      });
    } catch (err) {
      const e = isSwarmError(err) ? err : sharedError('SWARM_ERR_INTERNAL', `install failed: ${(err as Error).message}`, { cause: err });
      await ops.finish(record, installVerdict(e), { error: { code: e.code, message: e.message } });
      throw e;
    }
    const links = await this.d.store.readLinks();
    await ops.step(record, 'installed', { release: { id: installed.id, version: installed.version }, to: refOf(installed), from: links.active ? refOf(links.active) : null });
    if (links.active?.id === installed.id) return ops.finish(record, 'committed');
    try {
      preemption.enterSwitch();
    } catch (err) {
      const e = err as { code: string; message: string };
      await ops.finish(record, 'failed', { error: { code: e.code, message: e.message } });
      throw err;
    }
    await this.d.journal.write({ op: opId, phase: 'pending', previous: links.active?.dirName ?? null, next: installed.dirName, prevBefore: links.prev?.dirName ?? null, attempts: 0 });
    faultPoint('self-update-after-journal', this.d.env);
    await this.d.store.setLinks({ active: installed.dirName, prev: links.active?.dirName ?? null });
    faultPoint('self-update-after-links', this.d.env);
    await ops.step(record, 'handing-over', {}, `the supervisor starts ${installed.dirName}; it must confirm or ${links.active?.dirName ?? 'the packaged updater'} returns`);
    this.d.logger.info({ op: opId, release: installed.id }, 'self-update installed; handing over to the new updater');
    setImmediate(() => this.d.handOver());
    return record;
  }

  /**
   * Called by a freshly started worker once it serves: when the journal says we are the updater on trial,
   * commit the self-update and clear the mark (the supervisor is watching for exactly that).
   */
  async confirmIfOnTrial(myDirName: string | undefined): Promise<void> {
    const j = await this.d.journal.read();
    // `confirmed` too: a worker killed between confirming and recording the outcome finishes it now.
    if (!j || j.next !== myDirName) return;
    const record = await this.d.operations.get(j.op);
    if (j.phase === 'pending') await this.d.journal.write({ ...j, phase: 'confirmed' });
    if (record && record.state === 'running') await this.d.operations.finish(record, 'committed');
    await this.d.journal.clear();
    await this.d.store.prune(this.d.keep).catch(() => []);
    this.d.logger.info({ op: j.op, release: myDirName }, 'self-update confirmed');
  }
}
