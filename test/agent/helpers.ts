// Agent test helpers: PKI and release dirs in temp folders, a spawned `swarm-agent run`, mTLS GETs, event waits.
import { spawn, type ChildProcess } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request, type Dispatcher } from 'undici';
import { buildDispatcher } from '../../shared/dispatcher.js';
import type { RestartPolicy } from '../../shared/wire.js';
import { mintIdentity, tempDir, writeIdentity, type TestIdentity } from '../helpers/pki.js';
import { pollUntil } from '../helpers/wait.js';

/** The built bin next to this test (works from any build dir). */
export const AGENT_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'agent', 'main.js');

export interface Fixture {
  root: string;
  pkiDir: string;
  releaseDir: string;
  agent: TestIdentity;
  cleanup: () => Promise<void>;
}

/** A temp root with pki/ (agent/<host> identity) and release/ (empty: no manifest). */
export async function makeFixture(host = 'h1'): Promise<Fixture> {
  const tmp = await tempDir('swarm-agent-');
  const pkiDir = join(tmp.path, 'pki');
  const releaseDir = join(tmp.path, 'release');
  await mkdir(releaseDir, { recursive: true });
  const agent = await mintIdentity('agent', host);
  await writeIdentity(pkiDir, agent, 'agent');
  return { root: tmp.path, pkiDir, releaseDir, agent, cleanup: tmp.cleanup };
}

export interface ServiceDef {
  name: string;
  command: string[];
  restart?: RestartPolicy;
  required?: boolean;
  env?: Record<string, string>;
}

/** Write swarm-release.json (and the sidecar when id is given). */
export async function writeRelease(dir: string, services: ServiceDef[], sidecar?: { id: string; version: string }): Promise<void> {
  const manifest = { name: 'sensor', version: sidecar?.version ?? '1.0.0', entrypoint: ['bin/swarm-agent', 'run'], services };
  await writeFile(join(dir, 'swarm-release.json'), JSON.stringify(manifest));
  if (sidecar) await writeFile(join(dir, '.swarm-release.json'), JSON.stringify({ ...sidecar, installedAt: new Date().toISOString() }));
}

/** A tiny executable script inside the release (bin/<name>). */
export async function writeScript(dir: string, name: string, body: string): Promise<string> {
  const path = join(dir, 'bin', name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, body);
  await chmod(path, 0o755);
  return `bin/${name}`;
}

/** A `node -e` service command (absolute node binary, so it is a "system binary"). */
export function nodeService(code: string): string[] {
  return [process.execPath, '-e', code];
}

export interface SpawnedAgent {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  stderr: () => string;
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

/** Spawn `swarm-agent run ARGS` in cwd with env; stderr JSON lines are collected. */
export function spawnAgent(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): SpawnedAgent {
  const child = spawn(process.execPath, [AGENT_MAIN, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, SWARM_LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let raw = '';
  let partial = '';
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    raw += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      logs.push(parsed);
      for (const w of [...waiters]) if (w.pred(parsed)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(parsed);
      }
    }
  });
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    logs,
    stderr: () => raw,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    waitForLog(pred, timeoutMs = 10_000) {
      const found = logs.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`log line not seen within ${timeoutMs} ms; stderr:\n${raw.slice(-3000)}`)), timeoutMs);
        const w = { pred, resolve: (l: Record<string, unknown>) => { clearTimeout(timer); resolve(l); } };
        waiters.push(w);
        void exited.then(() => {
          if (waiters.includes(w)) {
            clearTimeout(timer);
            reject(new Error(`agent exited before the log line; stderr:\n${raw.slice(-3000)}`));
          }
        });
      });
    },
  };
}

/** A dispatcher presenting `id`, expecting the agent of `host`. */
export function clientFor(id: TestIdentity, host = 'h1'): Dispatcher {
  return buildDispatcher(id.material, { expect: { role: 'agent', name: host }, connections: 2, connectTimeoutMs: 5_000 });
}

export async function getJson(url: string, dispatcher: Dispatcher): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(url, { dispatcher, headersTimeout: 5_000, bodyTimeout: 5_000 });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Await an event whose arguments satisfy pred (bounded). */
export function waitForEvent<A extends unknown[]>(emitter: EventEmitter, event: string, pred: (...args: A) => boolean, timeoutMs = 10_000): Promise<A> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`event ${event} not seen within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (...args: unknown[]): void => {
      if (!pred(...(args as A))) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args as A);
    };
    emitter.on(event, listener);
  });
}

/** Is a process alive (a zombie waiting for its reaper counts as gone)? */
export { isProcessAlive as isAlive } from '../../shared/process.js';

/** Poll a condition every 10 ms, bounded in time (for outcomes no event announces, like pipe drains). */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  await pollUntil(what, async () => ((await check()) ? true : undefined), { timeoutMs, everyMs: 10 });
}
