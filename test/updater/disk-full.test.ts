// Disk full mid-operation: when operation records and the rollback journal can no longer be written, a bad release
// must still be rolled back (the links and the running agent matter more). In-process engine, fake agent runner.
import assert from 'node:assert/strict';
import { readFile, realpath, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { silentLogger } from '../../shared/logger.js';
import { randomIds } from '../../shared/ids.js';
import type { AgentHealth, OperationRecord } from '../../shared/wire.js';
import type { AgentEvent, AgentRunner } from '../../updater/agent-runner.js';
import { defaultUpdaterConfig } from '../../updater/config.js';
import { Updater } from '../../updater/engine.js';
import { JournalFile } from '../../updater/journal.js';
import { ReleaseStore } from '../../updater/install/index.js';
import { OperationStore } from '../../updater/operations.js';
import { hostPaths } from '../../updater/paths.js';
import { tempDir } from '../helpers/pki.js';
import { buildAgentRelease, type BuiltRelease } from './helpers/agent-release.js';

/** A journal on a full disk: rewriting it fails (reading and removing still work, as on a real full disk). */
class FillingJournal extends JournalFile {
  full = false;
  override async write(entry: Parameters<JournalFile['write']>[0]): Promise<void> {
    if (this.full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return super.write(entry);
  }
}

/** The agent "runs" whatever active resolves to at restart; releases named in `failing` report failing. */
class FakeRunner implements AgentRunner {
  readonly mode = 'spawn' as const;
  running: string | null = null;
  onRestart: (id: string) => Promise<void> = async () => undefined;
  constructor(private readonly installDir: string) {}
  async ensureRunning(): Promise<void> {
    if (!this.running) await this.restart();
  }
  async restart(): Promise<void> {
    const dir = await realpath(join(this.installDir, 'active'));
    this.running = (JSON.parse(await readFile(join(dir, '.swarm-release.json'), 'utf8')) as { id: string }).id;
    await this.onRestart(this.running);
  }
  async stop(): Promise<void> {
    this.running = null;
  }
  hold(): void {}
  release(): void {}
  onEvent(_l: (e: AgentEvent) => void): () => void {
    return () => undefined;
  }
}

describe('updater: disk full mid-operation', () => {
  it('still rolls a bad release back when its operation record cannot be written', async () => {
    const t = await tempDir('swarm-rv-full-');
    try {
      const installDir = join(t.path, 'opt');
      const paths = hostPaths(installDir);
      const config = defaultUpdaterConfig({ installDir, probe: { deadlineMs: 500, intervalMs: 5, backoffMaxMs: 10, requestTimeoutMs: 100 }, watch: { windowMs: 0, intervalMs: 10, maxFailures: 1 } });
      const store = new ReleaseStore({ root: installDir, stagingDir: paths.staging, stateDir: paths.state });
      const writeErrors: string[] = [];
      const operations = new OperationStore(paths.operations, randomIds, (err) => writeErrors.push((err as Error).message));
      const runner = new FakeRunner(installDir);
      const failing = new Set<string>();
      const fetchHealth = async (): Promise<AgentHealth> => {
        if (!runner.running) throw new Error('ECONNREFUSED');
        return { status: failing.has(runner.running) ? 'failing' : 'ok', release: runner.running, version: '1', pid: 1, startedAt: 't', services: [] };
      };
      const journal = new FillingJournal(paths.journal);
      const updater = new Updater({ config, paths, store, runner, fetchHealth, operations, journal, logger: silentLogger(), version: 'test' });
      await updater.start();
      const send = (r: BuiltRelease): Promise<OperationRecord> => updater.update({ body: Readable.from([r.tarball]), id: r.id });

      const v1 = await buildAgentRelease('1.0.0');
      assert.equal((await send(v1)).state, 'committed');
      const v2 = await buildAgentRelease('2.0.0');
      failing.add(v2.id);
      // Once the agent restarts on v2 the records can no longer be written (here: state/operations stops being a
      // directory, so every write fails as on a full or broken disk; the journal beside it still works).
      runner.onRestart = async (id) => {
        if (id !== v2.id) return;
        await rename(paths.operations, `${paths.operations}.gone`);
        await writeFile(paths.operations, 'not a directory');
        journal.full = true;
      };
      const sent = send(v2);
      await sent.catch(() => undefined);
      await updater.whenIdle();
      assert.equal((await store.readLinks()).active?.id, v1.id, 'active is back on the good release');
      assert.equal(runner.running, v1.id, 'the agent runs the good release');
      assert.equal((await store.list()).find((r) => r.id === v2.id)?.bad, true, 'the bad release is marked bad');
      assert.ok(writeErrors.length > 0, 'the record writes did fail');
      assert.equal((await operations.latest())?.state, 'rolled-back', 'the outcome is still served (from memory)');
      assert.equal(await journal.read(), null, 'the journal is cleared');
    } finally {
      await t.cleanup();
    }
  });
});
