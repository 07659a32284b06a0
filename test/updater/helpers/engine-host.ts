// An in-process updater engine on a temp install dir: real store and records, a fake agent runner, a tap on the body.
import type { AgentBehaviour } from './agent-release.js';
import { readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../../shared/logger.js';
import { randomIds } from '../../../shared/ids.js';
import { Readable } from 'node:stream';
import type { AgentHealth, OperationRecord } from '../../../shared/wire.js';
import type { AgentEvent, AgentRunner } from '../../../updater/agent-runner.js';
import { defaultUpdaterConfig } from '../../../updater/config.js';
import { Updater } from '../../../updater/engine.js';
import { ReleaseStore, type InstalledRelease } from '../../../updater/install/index.js';
import { OperationStore } from '../../../updater/operations.js';
import { hostPaths, type HostPaths } from '../../../updater/paths.js';
import { tempDir } from '../../helpers/pki.js';

/** What a fake agent does, by release id: the same kinds the real test agents have (helpers/agent-release.ts). */
export type FakeBehaviour = AgentBehaviour['mode'];

/** The agent "runs" whatever active resolves to at restart; each start is a new pid. An `exit` agent dies at once. */
export class FakeRunner implements AgentRunner {
  readonly mode = 'spawn' as const;
  running: string | null = null;
  pid = 0;
  onRestart: (id: string) => void = () => undefined;
  private readonly listeners = new Set<(e: AgentEvent) => void>();
  constructor(private readonly installDir: string, private readonly behaviour: (id: string) => FakeBehaviour = () => 'good') {}
  async ensureRunning(): Promise<void> {
    if (!this.running) await this.restart();
  }
  async restart(): Promise<void> {
    const dir = await realpath(join(this.installDir, 'active'));
    this.running = (JSON.parse(await readFile(join(dir, '.swarm-release.json'), 'utf8')) as { id: string }).id;
    this.pid += 1;
    this.onRestart(this.running);
    if (this.behaviour(this.running) === 'exit') this.exit(3);
  }
  /** The agent dies on its own: nothing runs, and the listeners hear an unexpected exit (as the spawn runner reports it). */
  exit(code: number): void {
    const pid = this.pid;
    this.running = null;
    for (const l of this.listeners) l({ type: 'exited', pid, code, signal: null, expected: false });
  }
  async stop(): Promise<void> {
    this.running = null;
  }
  hold(): void {}
  release(): void {}
  onEvent(l: (e: AgentEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

/**
 * The scripted health source: answers for whatever the runner runs, as its behaviour says. `no-listen`: never
 * reachable; `other-id`, `failing`: say so; `die-when-watched`: answers its first probe healthy and dies (exit code 4)
 * on the next one, which only the watch window sends.
 */
function scriptedHealth(runner: FakeRunner, behaviour: (id: string) => FakeBehaviour): () => Promise<AgentHealth> {
  let answeredPid = -1;
  let answered = 0;
  return async () => {
    const id = runner.running;
    if (!id) throw new Error('ECONNREFUSED');
    const mode = behaviour(id);
    if (mode === 'no-listen') throw new Error('ECONNREFUSED');
    if (answeredPid !== runner.pid) [answeredPid, answered] = [runner.pid, 0];
    if (mode === 'die-when-watched' && ++answered > 1) {
      runner.exit(4);
      throw new Error('ECONNRESET');
    }
    return { status: mode === 'failing' ? 'failing' : 'ok', release: mode === 'other-id' ? '0'.repeat(64) : id, version: '1', pid: runner.pid, startedAt: 't', services: [] };
  };
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
  /** How each release's agent behaves (absent: good); set before sending the release. */
  behaviours: Map<string, FakeBehaviour>;
  updater: Updater;
  /** Send a built release to the engine as one whole body (POST /v1/update without the HTTP). */
  send(release: { tarball: Buffer; id: string }): Promise<OperationRecord>;
  /** Replace the engine by one with another watch window, on the same disk (the config is frozen). */
  reopen(options: { watchMs: number }): Promise<Updater>;
  cleanup(): Promise<void>;
}

export interface EngineHostOptions {
  /** The watch window (default 0: none). */
  watchMs?: number;
  /** How long a new agent has to report healthy (default 5 s; a good fake agent answers at once). */
  probeDeadlineMs?: number;
  /** Failed probes the watch window tolerates (default 1). */
  watchMaxFailures?: number;
}

/** An engine on a temp dir; probes answer at once from the fake runner and `behaviours`. */
export async function makeEngineHost(options: EngineHostOptions = {}): Promise<EngineHost> {
  const t = await tempDir('swarm-engine-');
  const installDir = join(t.path, 'opt');
  const paths = hostPaths(installDir);
  const store = new TappedStore({ root: installDir, stagingDir: paths.staging, stateDir: paths.state });
  const operations = new OperationStore(paths.operations, randomIds);
  const behaviours = new Map<string, FakeBehaviour>();
  const behaviour = (id: string): FakeBehaviour => behaviours.get(id) ?? 'good';
  const runner = new FakeRunner(installDir, behaviour);
  const fetchHealth = scriptedHealth(runner, behaviour);
  const open = async (watchMs: number): Promise<Updater> => {
    const config = defaultUpdaterConfig({
      installDir,
      probe: { deadlineMs: options.probeDeadlineMs ?? 5_000, intervalMs: 5, backoffMaxMs: 10, requestTimeoutMs: 100 },
      watch: { windowMs: watchMs, intervalMs: 10, maxFailures: options.watchMaxFailures ?? 1 },
    });
    const u = new Updater({ config, paths, store, runner, fetchHealth, operations, logger: silentLogger(), version: 'test' });
    await u.start();
    return u;
  };
  const host: EngineHost = {
    paths, store, operations, runner, behaviours, updater: await open(options.watchMs ?? 0),
    send: (r) => host.updater.update({ body: Readable.from([r.tarball]), id: r.id }),
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
