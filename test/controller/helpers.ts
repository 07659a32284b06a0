// Test helpers for the controller: a real `serve` child process, swarmctl runs, an in-process app on loopback, sample reports.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { buildControllerApp, type ControllerApp, type ControllerDeps } from '../../controller/index.js';
import { openSqliteStore, type Store } from '../../controller/store/index.js';
import { CONTROLLER_RUNTIME } from '../../shared/defaults.js';
import type { AgentHealth, UpdaterStatus } from '../../shared/wire.js';
import { silentLogger } from '../../shared/logger.js';
import { checkServerIdentity, type TlsMaterial } from '../../shared/tls.js';
import { mintIdentity, tempDir, testCa } from '../helpers/pki.js';
import { pollUntil } from '../helpers/wait.js';

/** The build root (dist/ or .build/<name>/): bins are found from here, never from dist/. */
export const BUILD_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CONTROLLER_BIN = join(BUILD_ROOT, 'controller', 'main.js');
export const SWARMCTL_BIN = join(BUILD_ROOT, 'cli', 'main.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a bin to completion (bounded). */
export async function runBin(bin: string, args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<RunResult> {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, SWARM_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code: code ?? -1, stdout, stderr };
}

export interface ControllerProcess {
  url: string;
  stateDir: string;
  adminDir: string;
  root: string;
  child: ChildProcess;
  logs: () => string;
  swarmctl(args: string[], identity?: string): Promise<RunResult>;
  stop(): Promise<void>;
}

/** `swarm-controller init` then `serve` on 127.0.0.1:0; resolves with the URL it printed. */
export async function startControllerProcess(serveArgs: string[] = [], cluster = 'e2e'): Promise<ControllerProcess & { cleanup(): Promise<void> }> {
  const dir = await tempDir('swarm-ctl-');
  const stateDir = join(dir.path, 'state');
  const init = await runBin(CONTROLLER_BIN, ['init', '--state-dir', stateDir, '--cluster', cluster, '--san', '127.0.0.1']);
  if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  const proc = await spawnServe(stateDir, serveArgs);
  const adminDir = join(stateDir, 'operators', 'admin');
  const cp: ControllerProcess & { cleanup(): Promise<void> } = {
    ...proc,
    stateDir,
    adminDir,
    root: dir.path,
    swarmctl: (args, identity = adminDir) => runBin(SWARMCTL_BIN, args, { SWARMCTL_CONTROLLER: cp.url, SWARMCTL_IDENTITY: identity }),
    async cleanup() {
      await cp.stop();
      await dir.cleanup();
    },
  };
  return cp;
}

/** Spawn `serve` and wait (bounded) for its `listening URL` line. */
export async function spawnServe(stateDir: string, serveArgs: string[] = [], listen = '127.0.0.1:0'): Promise<{ url: string; child: ChildProcess; logs: () => string; stop(): Promise<void> }> {
  // Started as its unit starts it (shared/defaults.ts CONTROLLER_RUNTIME): the benchmarks measure what is deployed.
  const child = spawn(process.execPath, [...CONTROLLER_RUNTIME.nodeFlags, CONTROLLER_BIN, 'serve', '--state-dir', stateDir, '--listen', listen, ...serveArgs], {
    env: { ...process.env, ...CONTROLLER_RUNTIME.env, SWARM_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start in 20 s: ${logs}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (https:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${logs}`));
    });
  });
  return {
    url,
    child,
    logs: () => logs,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await once(child, 'exit');
      clearTimeout(timer);
    },
  };
}

export interface InProcessController extends ControllerApp {
  url: string;
  store: Store;
  close(): Promise<void>;
}

/** buildControllerApp over the test CA with a SQLite file in a temp dir, listening on 127.0.0.1:0. */
export async function startInProcessController(deps: Partial<ControllerDeps> = {}, port = 0): Promise<InProcessController> {
  const dir = await tempDir('swarm-ctl-app-');
  const ca = await testCa('test');
  const controller = await mintIdentity('controller', 'controller', { sans: ['127.0.0.1'] });
  const store = deps.store ?? openSqliteStore(join(dir.path, 'swarm.db'));
  const releasesDir = join(dir.path, 'releases');
  await mkdir(releasesDir, { mode: 0o750 });
  const built = await buildControllerApp({ material: controller.material, ca, store, logger: silentLogger(), releasesDir, ...deps });
  await built.app.listen({ host: '127.0.0.1', port });
  const bound = (built.app.server.address() as { port: number }).port;
  return {
    ...built,
    url: `https://127.0.0.1:${bound}`,
    store,
    async close() {
      await built.app.close();
      await store.close();
      await dir.cleanup();
    },
  };
}

/** An undici dispatcher that trusts `ca` (checking the controller's SPIFFE URI) and presents `client` if given. */
export function clientFor(ca: string, client?: TlsMaterial, cluster = 'test'): Agent {
  return new Agent({
    connect: {
      ca,
      ...(client ? { cert: client.cert, key: client.key } : {}),
      rejectUnauthorized: true,
      checkServerIdentity: (_h, cert) => checkServerIdentity(cert, cluster, { role: 'controller' }),
    },
  });
}

/** One JSON request; returns status and parsed body. */
export async function call(dispatcher: Agent, url: string, method = 'GET', body?: unknown): Promise<{ status: number; body: Record<string, unknown> & { code?: string; message?: string } }> {
  const res = await request(url, {
    method: method as 'GET',
    dispatcher,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await res.body.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: res.statusCode, body: parsed };
}

export function agentHealth(release = 'a'.repeat(64), version = '1.2.3'): AgentHealth {
  return { status: 'ok', release, version, pid: process.pid, startedAt: new Date().toISOString(), services: [{ name: 'sensor', state: 'running', required: true, restarts: 0, pid: 42 }] };
}

export function updaterStatus(release = 'a'.repeat(64), version = '1.2.3'): UpdaterStatus {
  return {
    status: 'ok', version: '0.1.0', pid: process.pid, startedAt: new Date().toISOString(),
    active: { id: release, version, dir: `${version}-${release.slice(0, 12)}` }, prev: null, running: null, lastOperation: null, agent: null, badReleases: [],
  };
}

/** Wait for a condition, polling with a bound in count and time (for state observed through an API). */
export function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  return pollUntil(what, probe, { timeoutMs, everyMs });
}

/** Register `name` as an enrolled host directly in a store (tests that are not about enrollment). */
export async function enrollDirectly(store: Store, name: string): Promise<void> {
  const now = Date.now();
  await store.insertHost({ name, address: null, labels: {}, createdAt: now });
  await store.insertJoinToken({ hash: `direct-${name}`, hostName: name, createdAt: now, expiresAt: now + 60_000, usedAt: null });
  await store.consumeJoinToken(`direct-${name}`, name, now);
}
