// The supervisor (`swarm-updater run --supervise`): runs the updater worker from <install-dir>/updater/active (or the
// packaged code), gives a self-updated worker one trial to confirm within a deadline, and restores the old one if not.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, realpath, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { fsyncDir } from '../shared/files.js';
import { pause } from '../shared/clock.js';
import { randomIds } from '../shared/ids.js';
import { ManifestSchema, MANIFEST_FILE } from '../shared/release-manifest.js';
import { updaterFault } from './errors.js';
import { ReleaseStore } from './install/index.js';
import { OperationStore } from './operations.js';
import { nextSupervisorStep } from './plan.js';
import type { HostPaths } from './paths.js';
import { SelfUpdateJournalFile, type SelfUpdateJournal } from './self-update-journal.js';

/** A worker exits with this code to ask the supervisor to start the (new) active updater now. */
export const EXIT_HAND_OVER = 75;

export interface SupervisorOptions {
  paths: HostPaths;
  /** How to run the packaged updater: [node, main.js]. */
  baseCommand: readonly string[];
  /** `run` flags forwarded to every worker. */
  workerArgs: readonly string[];
  deadlineMs: number;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** Resolves to stop supervising (SIGTERM). */
  stopSignal?: AbortSignal;
}

export async function runSupervisor(o: SupervisorOptions): Promise<number> {
  const store = new ReleaseStore({ root: o.paths.updaterRoot, stagingDir: o.paths.updaterStaging, stateDir: o.paths.updaterState, logger: o.logger });
  await store.init();
  const journal = new SelfUpdateJournalFile(o.paths.selfUpdateJournal);
  let failures = 0;
  for (let round = 0; round < Number.MAX_SAFE_INTEGER; round++) {
    if (o.stopSignal?.aborted) return 0;
    const found = await journal.read();
    const decision = nextSupervisorStep(found, found?.phase === 'pending' ? ((await store.readLinks()).active?.dirName ?? null) : null);
    if (decision.do === 'restore' && found) {
      await restoreOldUpdater(o, store, journal, found, decision.reason);
      continue;
    }
    const pending = decision.do === 'trial' ? decision.journal : null;
    if (pending) await journal.write(pending);
    const child = await startWorker(o, store);
    const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
    const onStop = (): void => void child.kill('SIGTERM');
    o.stopSignal?.addEventListener('abort', onStop, { once: true });
    if (pending) {
      const verdict = await awaitConfirmation(journal, exited, o.deadlineMs, o.stopSignal);
      if (verdict !== 'confirmed') {
        await stopChild(child, exited);
        const after = await journal.read();
        if (after?.phase === 'pending') {
          await restoreOldUpdater(o, store, journal, after, verdict === 'exited' ? 'the new updater exited before confirming' : `the new updater did not confirm within ${o.deadlineMs} ms`);
        }
        o.stopSignal?.removeEventListener('abort', onStop);
        continue;
      }
      o.logger.info({ op: pending.op }, 'new updater confirmed');
    }
    const code = await exited;
    o.stopSignal?.removeEventListener('abort', onStop);
    if (o.stopSignal?.aborted) return 0;
    if (code === EXIT_HAND_OVER) {
      failures = 0;
      continue;
    }
    failures += 1;
    const delay = Math.min(30_000, 500 * 2 ** Math.min(failures, 10));
    o.logger.warn({ code, delay }, 'updater worker exited; restarting it');
    await pause(delay, o.stopSignal);
  }
  return 1;
}

async function startWorker(o: SupervisorOptions, store: ReleaseStore): Promise<ChildProcess> {
  // The worker learns its supervisor's pid from here, not from its parent pid once it runs: a supervisor killed while
  // the worker was still starting would otherwise be taken for the reaper it was re-parented to, and never missed.
  const env: NodeJS.ProcessEnv = { ...(o.env ?? process.env), SWARM_UPDATER_SUPERVISED: '1', SWARM_UPDATER_SUPERVISOR_PID: String(process.pid) };
  env.NODE_OPTIONS = withSmallYoungGeneration(env.NODE_OPTIONS);
  delete env.SWARM_UPDATER_RELEASE_DIR;
  let argv: string[] = [...o.baseCommand];
  let cwd = process.cwd();
  const active = (await store.readLinks()).active;
  if (active) {
    try {
      const dir = await realpath(active.dir);
      const manifest = ManifestSchema.parse(JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')));
      argv = [join(dir, manifest.entrypoint[0]!), ...manifest.entrypoint.slice(1)];
      cwd = dir;
      env.SWARM_UPDATER_RELEASE_DIR = active.dirName;
    } catch (err) {
      o.logger.error({ err }, 'updater release unusable; running the packaged updater');
    }
  }
  if (argv.at(-1) !== 'run') argv.push('run');
  argv.push(...o.workerArgs);
  o.logger.info({ argv, cwd }, 'starting updater worker');
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: 'inherit' });
  child.once('error', (err) => o.logger.error({ err }, 'updater worker failed to spawn'));
  return child;
}

/**
 * A 1 MiB young generation: streaming a release allocates many short-lived buffers, and V8's default (16 MiB
 * semi-spaces) lets the worker's RSS grow by ~40 MiB during an install; this keeps it within its 120 MB budget.
 */
export function withSmallYoungGeneration(nodeOptions: string | undefined): string {
  const current = nodeOptions ?? '';
  return /--max-semi-space-size/.test(current) ? current : `${current} --max-semi-space-size=1`.trim();
}

type Verdict = 'confirmed' | 'exited' | 'timeout';

/** The journal turning `confirmed` (or cleared) is the new worker's word that it serves. */
async function awaitConfirmation(journal: SelfUpdateJournalFile, exited: Promise<number>, deadlineMs: number, stop?: AbortSignal): Promise<Verdict> {
  let done = false;
  const exit = exited.then(() => 'exited' as const);
  const poll = (async (): Promise<Verdict> => {
    const end = performance.now() + deadlineMs;
    while (!done && performance.now() < end && !stop?.aborted) {
      const j = await journal.read();
      if (!j || j.phase === 'confirmed') return 'confirmed';
      await pause(50);
    }
    return 'timeout';
  })();
  const verdict = await Promise.race([exit, poll]);
  done = true;
  if (verdict === 'exited') {
    const j = await journal.read();
    if (!j || j.phase === 'confirmed') return 'confirmed';
  }
  return verdict;
}

async function stopChild(child: ChildProcess, exited: Promise<number>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

/** Flip updater/active back (or remove it: the packaged updater), mark the new one bad, close the record. */
async function restoreOldUpdater(o: SupervisorOptions, store: ReleaseStore, journal: SelfUpdateJournalFile, j: SelfUpdateJournal, reason: string): Promise<void> {
  o.logger.error({ op: j.op, next: j.next, previous: j.previous, reason }, 'self-update failed; restoring the previous updater');
  if (j.previous) {
    const prev = j.prevBefore === j.previous || !(j.prevBefore && (await store.get(j.prevBefore))) ? null : j.prevBefore;
    await store.setLinks({ active: j.previous, prev });
  } else {
    await unlink(join(o.paths.updaterRoot, 'active')).catch(() => undefined);
    await unlink(join(o.paths.updaterRoot, 'prev')).catch(() => undefined);
    await fsyncDir(o.paths.updaterRoot);
  }
  const failed = await store.get(j.next);
  if (failed) await store.markBad(failed.id, reason);
  const ops = new OperationStore(o.paths.operations, randomIds, (err, record) => o.logger.error({ err, op: record.id }, 'operation record not written'));
  await ops.init();
  const record = await ops.get(j.op);
  if (record && record.state === 'running') {
    await ops.finish(record, 'rolled-back', { error: updaterFault('SWARM_ERR_UPDATER_SELF_UPDATE_FAILED', `${reason}; the previous updater was restored`) });
  }
  await journal.clear();
}
