// `npm run bench -- channels [--hosts N] [--workers W] [--steady S]`: N simulated hosts in W worker processes hold
// agent channels (real mTLS, 10 s heartbeat) to a real `swarm-controller serve`; reports channels held, the
// controller's CPU (% of one core over a steady window) and RSS, and how long all take to come back after a restart.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { CONTROLLER_RUNTIME } from '../shared/defaults.js';
import { initStateDir, openSqliteStore, statePaths } from '../controller/index.js';
import { CertificateAuthority, generateKeyPair } from '../pki/index.js';
import { startChannelClient, type ChannelClient } from '../controller-client/channel-client.js';
import { silentLogger } from '../shared/logger.js';
import { checkTlsMaterial, loadTlsMaterial } from '../shared/tls.js';
import { buildDispatcher } from '../shared/dispatcher.js';

const here = fileURLToPath(import.meta.url);
const CONTROLLER_BIN = join(dirname(here), '..', 'controller', 'main.js');
const CLUSTER = 'bench';
const HEARTBEAT_S = 10;

export interface WorkerInit {
  /** The controller URLs; simulated host i is given them rotated by i (replicas: half the fleet starts on each). */
  urls: string[];
  caPem: string;
  caKeyPem: string;
  keyPem: string;
  publicKeyPem: string;
  names: string[];
  heartbeatMs: number;
  rampMs: number;
}
export type ToWorker = { type: 'init'; init: WorkerInit } | { type: 'stats' } | { type: 'stop' };
export type FromWorker = { type: 'ready'; issueMs: number } | { type: 'stats'; connected: number; connects: number; disconnects: number; errors: Record<string, number>; cpuMs: number; byUrl: Record<string, number> };

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

/** utime + stime in seconds and RSS in MB of a process, from /proc. */
export function procStats(pid: number): { cpuSeconds: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15 of stat)
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuSeconds: ticks / 100, rssMb: rss ? Number(rss[1]) / 1024 : NaN };
}

/** `swarm-controller serve` on 127.0.0.1:port (10 s heartbeat, warn logs), `extra` appended (e.g. --store URL). */
export async function startController(stateDir: string, port: number, extra: readonly string[] = []): Promise<{ child: ChildProcess; url: string; startedAt: number }> {
  const startedAt = Date.now();
  // As its unit starts it (CONTROLLER_RUNTIME): what is deployed is what is measured.
  const child = spawn(process.execPath, [...CONTROLLER_RUNTIME.nodeFlags, CONTROLLER_BIN, 'serve', '--state-dir', stateDir, '--listen', `127.0.0.1:${port}`, '--heartbeat', String(HEARTBEAT_S), '--log-level', 'warn', ...extra], {
    env: { ...process.env, ...CONTROLLER_RUNTIME.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error('controller did not start in 30 s')), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`controller exited with ${code}`)));
  });
  return { child, url, startedAt };
}

export async function stopController(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await once(child, 'exit');
  clearTimeout(t);
}

function ask(worker: ChildProcess): Promise<Extract<FromWorker, { type: 'stats' }>> {
  return new Promise((resolve) => {
    const onMessage = (m: FromWorker): void => {
      if (m.type === 'stats') {
        worker.off('message', onMessage);
        resolve(m);
      }
    };
    worker.on('message', onMessage);
    worker.send({ type: 'stats' } satisfies ToWorker);
  });
}

export interface Totals { connected: number; connects: number; disconnects: number; errors: Record<string, number>; workerCpuMs: number; byUrl: Record<string, number> }

export async function totals(workers: ChildProcess[]): Promise<Totals> {
  const all = await Promise.all(workers.map(ask));
  const errors: Record<string, number> = {};
  const byUrl: Record<string, number> = {};
  for (const s of all) {
    for (const [k, v] of Object.entries(s.errors)) errors[k] = (errors[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.byUrl)) byUrl[k] = (byUrl[k] ?? 0) + v;
  }
  return all.reduce((a, s) => ({ ...a, connected: a.connected + s.connected, connects: a.connects + s.connects, disconnects: a.disconnects + s.disconnects, workerCpuMs: a.workerCpuMs + s.cpuMs }), { connected: 0, connects: 0, disconnects: 0, errors, workerCpuMs: 0, byUrl });
}

/** Poll the workers until `done`, bounded; returns the ms it took. */
async function waitUntil(workers: ChildProcess[], done: (t: { connected: number }) => boolean, timeoutMs: number): Promise<number | null> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (done(await totals(workers))) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 250));
  }
  return null;
}

async function channelsFromMetrics(url: string, adminDir: string): Promise<{ channels: number; memoryMb: Record<string, number> }> {
  const material = await loadTlsMaterial(adminDir, 'operator', CLUSTER);
  const dispatcher = buildDispatcher(material, { expect: { role: 'controller' } });
  try {
    const res = await request(`${url}/metrics`, { dispatcher });
    const text = await res.body.text();
    const memoryMb: Record<string, number> = {};
    for (const m of text.matchAll(/^swarm_process_memory_bytes\{kind="(\w+)"\} (\d+)$/gm)) memoryMb[m[1]!] = Math.round(Number(m[2]) / 1048576);
    return { channels: Number(/^swarm_channels_open\{role="agent"\} (\d+)$/m.exec(text)?.[1] ?? NaN), memoryMb };
  } finally {
    await dispatcher.close();
  }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const hosts = arg(args, 'hosts', 5000);
  const workerCount = arg(args, 'workers', 4);
  const steadyS = arg(args, 'steady', 20);
  const root = await mkdtemp(join(tmpdir(), 'swarm-bench-channels-'));
  const stateDir = join(root, 'state');
  const workers: ChildProcess[] = [];
  let controller: Awaited<ReturnType<typeof startController>> | undefined;
  try {
    await initStateDir({ stateDir, cluster: CLUSTER, sans: ['127.0.0.1'] });
    const p = statePaths(stateDir);
    // Register and enroll the simulated hosts directly in the store (bench-only path; the channel check needs an enrolled host).
    const t0 = Date.now();
    const store = openSqliteStore(p.db);
    const names = Array.from({ length: hosts }, (_, i) => `sim-${i}`);
    for (const name of names) {
      await store.insertHost({ name, address: null, labels: { bench: 'yes' }, createdAt: t0 });
      await store.insertJoinToken({ hash: `bench-${name}`, hostName: name, createdAt: t0, expiresAt: t0 + 60_000, usedAt: null });
      await store.consumeJoinToken(`bench-${name}`, name, t0);
    }
    await store.close();
    const registerMs = Date.now() - t0;

    const port = await freePort();
    controller = await startController(stateDir, port);
    const key = await generateKeyPair();
    const caPem = await readFile(p.caCert, 'utf8');
    const caKeyPem = await readFile(p.caKey, 'utf8');
    const per = Math.ceil(hosts / workerCount);
    const issueStart = Date.now();
    const rampMs = Math.max(5_000, hosts * 8);
    for (let w = 0; w < workerCount; w++) {
      const slice = names.slice(w * per, (w + 1) * per);
      if (slice.length === 0) continue;
      const child = fork(here, ['--channels-worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      workers.push(child);
      child.send({ type: 'init', init: { caPem, caKeyPem, keyPem: key.privateKeyPem, publicKeyPem: key.publicKeyPem, urls: [controller.url], names: slice, heartbeatMs: HEARTBEAT_S * 1000, rampMs } } satisfies ToWorker);
    }
    const issueMs = Math.max(...(await Promise.all(workers.map((wk) => new Promise<number>((resolve) => {
      wk.once('message', (m: FromWorker) => resolve(m.type === 'ready' ? m.issueMs : NaN));
    })))));
    const connectStart = Date.now();
    const cpuBeforeConnect = procStats(controller.child.pid!).cpuSeconds;
    const connectMs = await waitUntil(workers, (t) => t.connected >= hosts, 300_000);
    const afterConnect = await totals(workers);
    const heldAtStart = afterConnect.connected;
    const controllerConnectCpuS = procStats(controller.child.pid!).cpuSeconds - cpuBeforeConnect;

    // Steady state: let the connection burst settle for one heartbeat, then measure.
    await new Promise((r) => setTimeout(r, HEARTBEAT_S * 1000));
    const a = procStats(controller.child.pid!);
    const w0 = Date.now();
    await new Promise((r) => setTimeout(r, steadyS * 1000));
    const b = procStats(controller.child.pid!);
    const windowS = (Date.now() - w0) / 1000;
    const steady = await totals(workers);
    const metricChannels = await channelsFromMetrics(controller.url, join(stateDir, 'operators', 'admin'));

    // Restart: stop, start on the same port, time until every host is back.
    const killAt = Date.now();
    await stopController(controller.child);
    const stoppedMs = Date.now() - killAt;
    controller = await startController(stateDir, port);
    const startMs = Date.now() - controller.startedAt;
    const listeningMs = Date.now() - killAt;
    const backMs = await waitUntil(workers, (t) => t.connected >= hosts, 120_000);
    const afterRestart = await totals(workers);
    const controllerCpuAfterRestartS = procStats(controller.child.pid!).cpuSeconds;
    const rssAfterRestart = procStats(controller.child.pid!).rssMb;

    return {
      hosts,
      workers: workers.length,
      heartbeatSeconds: HEARTBEAT_S,
      setup: {
        registerMs, issueCertificatesMs: issueStart ? issueMs : null, rampMs, connectAllMs: connectMs, connectStartedAt: new Date(connectStart).toISOString(),
        controllerCpuSecondsToConnectAll: Math.round(controllerConnectCpuS * 10) / 10, workerCpuSecondsSoFar: Math.round(afterConnect.workerCpuMs / 100) / 10,
        connectErrors: afterConnect.errors,
      },
      channelsHeld: { atStart: heldAtStart, steady: steady.connected, controllerMetric: metricChannels.channels },
      steadyState: {
        windowSeconds: Math.round(windowS * 10) / 10,
        controllerCpuPercentOfOneCore: Math.round(((b.cpuSeconds - a.cpuSeconds) / windowS) * 1000) / 10,
        controllerRssMb: Math.round(b.rssMb),
        controllerMemoryMb: metricChannels.memoryMb,
        disconnectsDuringRun: steady.disconnects,
      },
      restart: {
        stopMs: stoppedMs,
        controllerStartMs: startMs,
        listeningAgainMs: listeningMs,
        allReconnectedMsAfterListening: backMs,
        allReconnectedMsAfterStop: backMs === null ? null : listeningMs + backMs,
        reconnected: afterRestart.connected,
        controllerRssMbAfterReconnect: Math.round(rssAfterRestart),
        controllerCpuSecondsToReconnectAll: Math.round(controllerCpuAfterRestartS * 10) / 10,
        connectErrorsTotal: afterRestart.errors,
      },
      targets: { channels: 5000, cpuPercentOfOneCore: 25, rssMb: 400, reconnectSeconds: 60 },
    };
  } finally {
    for (const w of workers) w.send({ type: 'stop' } satisfies ToWorker);
    await Promise.all(workers.map((w) => (w.exitCode === null ? once(w, 'exit') : undefined)));
    if (controller) await stopController(controller.child);
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * The loopback address simulated host `sim-N` connects from: one per host (127.1.0.1 to 127.1.249.250, then 127.2...), as
 * hosts of a real fleet each have theirs; from one address, the controller's per-source cap on pending handshakes
 * (server.max-pending-handshakes-per-source) would drop most of a ramp of thousands, as it would from behind one NAT.
 */
function sourceAddress(name: string): string {
  const n = Number(/(\d+)$/.exec(name)?.[1] ?? 0);
  return `127.${1 + Math.floor(n / 62_500)}.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
}

/** Worker mode: issue the slice's agent certificates (shared key) and hold one channel per host. */
async function runWorker(): Promise<void> {
  const clients: ChannelClient[] = [];
  let connected = 0;
  let connects = 0;
  let disconnects = 0;
  const errors: Record<string, number> = {};
  const upOn = new Map<number, string>(); // host index -> the URL its channel is up on
  process.on('message', (m: ToWorker) => {
    if (m.type === 'stats') {
      const u = process.cpuUsage();
      const byUrl: Record<string, number> = {};
      for (const url of upOn.values()) byUrl[url] = (byUrl[url] ?? 0) + 1;
      process.send!({ type: 'stats', connected, connects, disconnects, errors, cpuMs: Math.round((u.user + u.system) / 1000), byUrl } satisfies FromWorker);
    }
    if (m.type === 'stop') void Promise.all(clients.map((c) => c.close())).then(() => process.exit(0));
    if (m.type !== 'init') return;
    const init = m.init;
    const t0 = Date.now();
    const ca = CertificateAuthority.load({ certPem: init.caPem, keyPem: init.caKeyPem });
    const materials = init.names.map((name) => {
      const issued = ca.issue({ publicKeyPem: init.publicKeyPem, identity: { cluster: ca.cluster, role: 'agent', name } });
      return checkTlsMaterial({ ca: init.caPem, cert: issued.certPem, key: init.keyPem }, name);
    });
    process.send!({ type: 'ready', issueMs: Date.now() - t0 } satisfies FromWorker);
    const startedAt = new Date().toISOString();
    const logger = silentLogger();
    materials.forEach((material, i) => {
      const report = () => ({ status: 'ok', release: 'f'.repeat(64), version: '1.0.0', pid: process.pid, startedAt, services: [] });
      // Spread the first connections over the ramp, as a fleet that boots over time would.
      setTimeout(() => {
        clients.push(startChannelClient({
          controllerUrl: init.urls.map((_, k) => init.urls[(i + k) % init.urls.length]!), role: 'agent', localAddress: sourceAddress(init.names[i]!), material: () => material, report, heartbeatMs: init.heartbeatMs, logger,
          onConnect: (url) => {
            connected++;
            connects++;
            upOn.set(i, url);
          },
          onDisconnect: () => {
            connected--;
            disconnects++;
            upOn.delete(i);
          },
          onConnectError: (err) => {
            const key = (err as { code?: string }).code ?? err.message.slice(0, 40);
            errors[key] = (errors[key] ?? 0) + 1;
          },
        }));
      }, (i / materials.length) * init.rampMs);
    });
  });
}

if (process.argv.includes('--channels-worker')) void runWorker();
