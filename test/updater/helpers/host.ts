// A test host: install dir, one PKI dir with updater/h1 and agent/h1, a short-deadline config, and the real bin.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { request, type Dispatcher } from 'undici';
import { buildDispatcher } from '../../../shared/dispatcher.js';
import type { AgentHealth } from '../../../shared/wire.js';
import { freePort } from '../../helpers/ports.js';
import { mintIdentity, tempDir, writeIdentity, type TestIdentity } from '../../helpers/pki.js';
import { pollUntil } from '../../helpers/wait.js';

export const UPDATER_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'updater', 'main.js');

/** Short deadlines and windows: tests wait on events, not on defaults meant for hosts. */
export const TEST_CONFIG = {
  probe: { deadlineMs: 3_000, intervalMs: 50, backoffMaxMs: 200, requestTimeoutMs: 1_000 },
  watch: { windowMs: 1_200, intervalMs: 100, maxFailures: 3 },
  agent: { systemdUnit: 'swarm-agent.service', stopGraceMs: 2_000, restartBackoffMs: 100, restartBackoffMaxMs: 1_000 },
  selfUpdate: { deadlineMs: 8_000 },
};

export { freePort } from '../../helpers/ports.js';

export interface TestHost {
  root: string;
  installDir: string;
  pkiDir: string;
  configFile: string;
  agentPort: number;
  updaterId: TestIdentity;
  cleanup(): Promise<void>;
}

export async function makeHost(config: Record<string, unknown> = {}): Promise<TestHost> {
  const t = await tempDir('swarm-u2-');
  const pkiDir = join(t.path, 'pki');
  const updaterId = await mintIdentity('updater', 'h1');
  await writeIdentity(pkiDir, updaterId, 'updater');
  await writeIdentity(pkiDir, await mintIdentity('agent', 'h1'), 'agent');
  const configFile = join(t.path, 'updater.json');
  const agentPort = await freePort();
  // The agent port lives in the config file so `status` and `rollback` find the same agent as `run`.
  await writeFile(configFile, JSON.stringify({ ...TEST_CONFIG, agentPort, ...config }));
  const host: TestHost = { root: t.path, installDir: join(t.path, 'opt'), pkiDir, configFile, agentPort, updaterId, cleanup: async () => {
    await killStaleAgent(host);
    await t.cleanup();
  } };
  return host;
}

/** Stop an agent a SIGKILLed updater left behind (tests clean up after themselves). */
export async function killStaleAgent(host: TestHost): Promise<void> {
  try {
    const { pid } = JSON.parse(await readFile(join(host.installDir, 'state', 'agent.pid'), 'utf8')) as { pid: number };
    process.kill(-pid, 'SIGKILL');
  } catch {
    // none
  }
}

export interface RunningUpdater {
  child: ChildProcess;
  port: number;
  logs: string[];
  /** Resolves with [code, signal] when the process ends. */
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  stop(): Promise<void>;
}

/** Start `swarm-updater run` on loopback (port 0) and wait for its "updater listening" log line. */
export async function startUpdater(host: TestHost, options: { env?: NodeJS.ProcessEnv; supervise?: boolean; args?: string[]; detectRestart?: boolean } = {}): Promise<RunningUpdater> {
  const args = [UPDATER_MAIN, 'run', '--install-dir', host.installDir, '--pki-dir', host.pkiDir, '--listen', '127.0.0.1:0',
    '--agent-port', String(host.agentPort), ...(options.detectRestart ? [] : ['--restart', 'spawn']), '--config', host.configFile, ...(options.supervise ? ['--supervise'] : []), ...(options.args ?? [])];
  const child = spawn(process.execPath, args, { env: { ...process.env, SWARM_LOG_LEVEL: 'info', ...options.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const logs: string[] = [];
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
  const listeners = new Set<(line: string) => void>();
  createInterface({ input: child.stderr!, crlfDelay: Infinity }).on('line', (line) => {
    logs.push(line);
    if (process.env.U2_DEBUG) process.stderr.write(`${line}\n`);
    for (const l of listeners) l(line);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`updater did not listen within 20 s:\n${logs.slice(-20).join('\n')}`)), 20_000);
    const onLine = (line: string): void => {
      try {
        const j = JSON.parse(line) as { msg?: string; port?: number };
        if (j.msg === 'updater listening' && typeof j.port === 'number') {
          clearTimeout(timer);
          listeners.delete(onLine);
          resolve(j.port);
        }
      } catch {
        // not JSON
      }
    };
    listeners.add(onLine);
    void exited.then(([code, signal]) => {
      clearTimeout(timer);
      reject(new Error(`updater exited (${code ?? signal}) before listening:\n${logs.slice(-20).join('\n')}`));
    });
  });
  return {
    child, port, logs, exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** An mTLS client of the updater with some identity (controller by default). */
export async function updaterClient(id?: TestIdentity): Promise<{ dispatcher: Dispatcher; identity: TestIdentity }> {
  const identity = id ?? (await mintIdentity('controller', 'controller'));
  return { dispatcher: buildDispatcher(identity.material, { expect: { role: 'updater', name: 'h1' } }), identity };
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export async function call(dispatcher: Dispatcher, port: number, method: 'GET' | 'POST', path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(`https://127.0.0.1:${port}${path}`, {
    method, dispatcher, headers: body ? { 'content-type': 'application/gzip', ...headers } : headers, ...(body ? { body } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export function sendRelease(dispatcher: Dispatcher, port: number, r: { tarball: Buffer; id: string }, path = '/v1/update'): Promise<Answer> {
  return call(dispatcher, port, 'POST', path, r.tarball, { 'x-swarm-release-sha256': r.id });
}

/** Ask the agent itself (as the updater of h1 would) what it runs. */
export async function agentHealth(host: TestHost): Promise<AgentHealth> {
  const d = buildDispatcher(host.updaterId.material, { expect: { role: 'agent', name: 'h1' } });
  try {
    const res = await request(`https://127.0.0.1:${host.agentPort}/v1/health`, { dispatcher: d, signal: AbortSignal.timeout(2_000) });
    return (await res.body.json()) as AgentHealth;
  } finally {
    await d.close();
  }
}

/** Poll a condition (bounded): for outcomes that another process produces. */
export function eventually<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  return pollUntil(what, fn, { timeoutMs, retryErrors: true });
}
