// An in-process updater engine on a temp install dir: real store and records, a fake agent runner, a tap on the body.
import { readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../../shared/logger.js';
import { randomIds } from '../../../shared/ids.js';
import type { AgentHealth } from '../../../shared/wire.js';
import type { AgentEvent, AgentRunner } from '../../../updater/agent-runner.js';
import { defaultUpdaterConfig } from '../../../updater/config.js';
import { Updater } from '../../../updater/engine.js';
import { ReleaseStore, type InstalledRelease } from '../../../updater/install/index.js';
import { OperationStore } from '../../../updater/operations.js';
import { hostPaths, type HostPaths } from '../../../updater/paths.js';
import { tempDir } from '../../helpers/pki.js';

/** The agent "runs" whatever active resolves to at restart. */
export class FakeRunner implements AgentRunner {
  readonly mode = 'spawn' as const;
  running: string | null = null;
  onRestart: (id: string) => void = () => undefined;
  constructor(private readonly installDir: string) {}
  async ensureRunning(): Promise<void> {
    if (!this.running) await this.restart();
  }
  async restart(): Promise<void> {
    const dir = await realpath(join(this.installDir, 'active'));
    this.running = (JSON.parse(await readFile(join(dir, '.swarm-release.json'), 'utf8')) as { id: string }).id;
    this.onRestart(this.running);
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

/** The real store; `bodyRead` resolves once an install has read its first body chunk (the upload is in flight). */
export class TappedStore extends ReleaseStore {
  private reached: () => void = () => undefined;
  bodyRead: Promise<void> = this.rearm();
  rearm(): Promise<void> {
    this.bodyRead = new Promise((resolve) => { this.reached = resolve; });
    return this.bodyRead;
  }
  override install(req: Parameters<ReleaseStore['install']>[0]): Promise<InstalledRelease> {
    const source = req.body as AsyncIterable<Uint8Array>;
    const reached = (): void => this.reached();
    const body = (async function* () {
      for await (const chunk of source) {
        yield chunk;
        reached();
      }
    })();
    return super.install({ ...req, body });
  }
}

export interface EngineHost {
  paths: HostPaths;
  store: TappedStore;
  operations: OperationStore;
  runner: FakeRunner;
  /** Release ids whose agent reports `failing` (their update rolls back). */
  failing: Set<string>;
  updater: Updater;
  /** Replace the engine by one with another watch window, on the same disk (the config is frozen). */
  reopen(options: { watchMs: number }): Promise<Updater>;
  cleanup(): Promise<void>;
}

/** `watchMs`: the watch window (0: none). Probes answer at once from the fake runner. */
export async function makeEngineHost(options: { watchMs?: number } = {}): Promise<EngineHost> {
  const t = await tempDir('swarm-engine-');
  const installDir = join(t.path, 'opt');
  const paths = hostPaths(installDir);
  const store = new TappedStore({ root: installDir, stagingDir: paths.staging, stateDir: paths.state });
  const operations = new OperationStore(paths.operations, randomIds);
  const runner = new FakeRunner(installDir);
  const failing = new Set<string>();
  const fetchHealth = async (): Promise<AgentHealth> => {
    if (!runner.running) throw new Error('ECONNREFUSED');
    return { status: failing.has(runner.running) ? 'failing' : 'ok', release: runner.running, version: '1', pid: 1, startedAt: 't', services: [] };
  };
  const open = async (watchMs: number): Promise<Updater> => {
    const config = defaultUpdaterConfig({
      installDir,
      probe: { deadlineMs: 5_000, intervalMs: 5, backoffMaxMs: 10, requestTimeoutMs: 100 },
      watch: { windowMs: watchMs, intervalMs: 10, maxFailures: 1 },
    });
    const u = new Updater({ config, paths, store, runner, fetchHealth, operations, logger: silentLogger(), version: 'test' });
    await u.start();
    return u;
  };
  const host: EngineHost = {
    paths, store, operations, runner, failing, updater: await open(options.watchMs ?? 0),
    async reopen(o) {
      await host.updater.whenIdle();
      host.updater = await open(o.watchMs);
      return host.updater;
    },
    cleanup: async () => {
      await host.updater.whenIdle();
      await t.cleanup();
    },
  };
  return host;
}
