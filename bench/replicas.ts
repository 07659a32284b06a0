// `npm run bench -- replicas [--hosts N] [--workers W] [--steady S] [--rollout-hosts H] [--size-mb M] [--rounds R]`: two
// `swarm-controller serve` replicas on one PostgreSQL (a private server on loopback) holding N simulated agents'
// channels (real mTLS, half the fleet given each replica first); CPU and RSS per replica and of PostgreSQL, whether
// both replicas show the same fleet, the failover time after SIGKILL of one; then two rollouts at once on a small
// real-process fleet, driven by one replica, then by two (bench/replicas-rollout.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request, type Dispatcher } from 'undici';
import { initStateDir, statePaths } from '../controller/index.js';
import { openPostgresStore } from '../controller/store/index.js';
import { generateKeyPair } from '../pki/index.js';
import { buildDispatcher } from '../shared/dispatcher.js';
import { loadTlsMaterial } from '../shared/tls.js';
import { startPostgres, type PgServer } from '../test/helpers/postgres.js';
import { freePort, procStats, startController, stopController, totals, type FromWorker, type ToWorker } from './channels.js';
import { runReplicaRollouts } from './replicas-rollout.js';

const CHANNELS_WORKER = join(dirname(fileURLToPath(import.meta.url)), 'channels.js');
const CLUSTER = 'bench';
const HEARTBEAT_MS = 10_000;
// Bounds of this bench only.
const CONNECT_TIMEOUT_MS = 420_000;
const FAILOVER_TIMEOUT_MS = 180_000;
const POLL_MS = 100;
const REGISTER_CONCURRENCY = 8;

const round1 = (n: number): number => Math.round(n * 10) / 10;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number >= 0`);
  return v;
}

/** CPU seconds of the PostgreSQL server: the postmaster and every backend it forked (those alive when asked). */
function postgresCpuSeconds(postmaster: number): number {
  let total = procStats(postmaster).cpuSeconds;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === postmaster) total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

interface Replica {
  name: 'A' | 'B';
  stateDir: string;
  port: number;
  child: ChildProcess;
  url: string;
}

interface ReplicaView {
  /** GET /v1/status: the shared fleet view. */
  hostsOnline: number;
  channelsAgent: number;
  /** /metrics: this replica's own channels. */
  localChannels: number;
}

async function viewOf(url: string, operator: Dispatcher): Promise<ReplicaView> {
  const get = async (path: string): Promise<string> => {
    const res = await request(`${url}${path}`, { dispatcher: operator, signal: AbortSignal.timeout(30_000) });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`GET ${path} on ${url}: ${res.statusCode} ${text.slice(0, 200)}`);
    return text;
  };
  const status = JSON.parse(await get('/v1/status')) as { hosts: { online: number }; channels: { agent: number } };
  const metrics = await get('/metrics');
  return {
    hostsOnline: status.hosts.online,
    channelsAgent: status.channels.agent,
    localChannels: Number(/^swarm_channels_open\{role="agent"\} (\d+)$/m.exec(metrics)?.[1] ?? NaN),
  };
}

/** Register and enroll the simulated hosts straight in the store (bench-only path, as bench/channels.ts does). */
async function registerHosts(url: string, names: string[]): Promise<number> {
  const t0 = Date.now();
  const store = await openPostgresStore(url);
  try {
    let next = 0;
    await Promise.all(Array.from({ length: REGISTER_CONCURRENCY }, async () => {
      while (next < names.length) {
        const name = names[next++]!;
        await store.insertHost({ name, address: null, labels: { bench: 'yes' }, createdAt: t0 });
        await store.insertJoinToken({ hash: `bench-${name}`, hostName: name, createdAt: t0, expiresAt: t0 + 3_600_000, usedAt: null });
        const r = await store.consumeJoinToken(`bench-${name}`, name, t0);
        if (!r.ok) throw new Error(`enrolling ${name}: ${r.reason}`);
      }
    }));
  } finally {
    await store.close();
  }
  return Date.now() - t0;
}

async function channelsAndFailover(pgServer: PgServer, hosts: number, workerCount: number, steadyS: number): Promise<Record<string, unknown>> {
  const db = await pgServer.createDatabase();
  const root = await mkdtemp(join(tmpdir(), 'swarm-bench-replicas-'));
  const workers: ChildProcess[] = [];
  const replicas: Replica[] = [];
  let operator: Dispatcher | undefined;
  try {
    const stateA = join(root, 'a');
    await initStateDir({ stateDir: stateA, cluster: CLUSTER, sans: ['127.0.0.1'], store: { engine: 'postgres', url: db.url } });
    // The second replica: the same PKI (a copy of the state directory), the same database.
    const stateB = join(root, 'b');
    await cp(stateA, stateB, { recursive: true, preserveTimestamps: true });
    const names = Array.from({ length: hosts }, (_, i) => `sim-${i}`);
    const registerMs = await registerHosts(db.url, names);

    for (const [name, stateDir] of [['A', stateA], ['B', stateB]] as const) {
      const port = await freePort();
      const c = await startController(stateDir, port, ['--store', db.url]);
      replicas.push({ name, stateDir, port, child: c.child, url: c.url });
    }
    const [a, b] = replicas as [Replica, Replica];
    const admin = await loadTlsMaterial(join(stateA, 'operators', 'admin'), 'operator', CLUSTER);
    operator = buildDispatcher(admin, { expect: { role: 'controller' } });

    const p = statePaths(stateA);
    const key = await generateKeyPair();
    const caPem = await readFile(p.caCert, 'utf8');
    const caKeyPem = await readFile(p.caKey, 'utf8');
    const per = Math.ceil(hosts / workerCount);
    const rampMs = Math.max(5_000, hosts * 8);
    for (let w = 0; w < workerCount; w++) {
      const slice = names.slice(w * per, (w + 1) * per);
      if (slice.length === 0) continue;
      const child = fork(CHANNELS_WORKER, ['--channels-worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      workers.push(child);
      // Host i is given [A, B] rotated by i: every other host tries A first, the rest B first.
      child.send({ type: 'init', init: { urls: [a.url, b.url], caPem, caKeyPem, keyPem: key.privateKeyPem, publicKeyPem: key.publicKeyPem, names: slice, heartbeatMs: HEARTBEAT_MS, rampMs } } satisfies ToWorker);
    }
    await Promise.all(workers.map((wk) => new Promise<void>((resolve, reject) => {
      wk.once('message', (m: FromWorker) => (m.type === 'ready' ? resolve() : reject(new Error('worker did not get ready'))));
    })));

    const cpu0 = { a: procStats(a.child.pid!).cpuSeconds, b: procStats(b.child.pid!).cpuSeconds, pg: postgresCpuSeconds(pgServer.pid) };
    const t0 = Date.now();
    let connectMs: number | null = null;
    while (Date.now() - t0 < CONNECT_TIMEOUT_MS) {
      if ((await totals(workers)).connected >= hosts) {
        connectMs = Date.now() - t0;
        break;
      }
      await sleep(250);
    }
    const connected = await totals(workers);
    const connectCpu = { a: procStats(a.child.pid!).cpuSeconds - cpu0.a, b: procStats(b.child.pid!).cpuSeconds - cpu0.b, pg: postgresCpuSeconds(pgServer.pid) - cpu0.pg };

    // Steady state: one heartbeat for the burst to settle (reports flushed, presence written), then the window.
    await sleep(HEARTBEAT_MS);
    const s0 = { a: procStats(a.child.pid!), b: procStats(b.child.pid!), pg: postgresCpuSeconds(pgServer.pid), load: loadavg()[0]! };
    const w0 = Date.now();
    await sleep(steadyS * 1000);
    const s1 = { a: procStats(a.child.pid!), b: procStats(b.child.pid!), pg: postgresCpuSeconds(pgServer.pid), load: loadavg()[0]! };
    const windowS = (Date.now() - w0) / 1000;
    const steady = await totals(workers);
    const pct = (x: number, y: number): number => round1(((y - x) / windowS) * 100);
    const [viewA, viewB] = await Promise.all([viewOf(a.url, operator), viewOf(b.url, operator)]);

    // Failover: SIGKILL A; its hosts' channels drop and move to B (the next URL, at once for a first failure).
    const onA = steady.byUrl[a.url] ?? 0;
    const onB = steady.byUrl[b.url] ?? 0;
    const cpuB0 = procStats(b.child.pid!).cpuSeconds;
    const killAt = Date.now();
    a.child.kill('SIGKILL');
    let firstMs: number | null = null;
    let lastMs: number | null = null;
    let metricAllMs: number | null = null;
    let lastPoll = 0;
    while (Date.now() - killAt < FAILOVER_TIMEOUT_MS && (lastMs === null || metricAllMs === null)) {
      const t = await totals(workers);
      const now = Date.now() - killAt;
      const back = (t.byUrl[b.url] ?? 0) - onB;
      if (firstMs === null && back > 0) firstMs = now;
      if (lastMs === null && back >= onA) lastMs = now;
      // The survivor's own gauge, read less often (each read is a TLS request to the busy survivor).
      if (lastMs !== null && metricAllMs === null && now - lastPoll >= 500) {
        lastPoll = now;
        const v = await viewOf(b.url, operator).catch(() => undefined);
        if (v && v.localChannels >= hosts) metricAllMs = Date.now() - killAt;
      }
      await sleep(POLL_MS);
    }
    const afterFailover = await totals(workers);
    const survivorCpuS = procStats(b.child.pid!).cpuSeconds - cpuB0;
    // Past the presence TTL, B's fleet view no longer counts A's rows: what it shows is B's own.
    await sleep(6_000);
    const viewAfter = await viewOf(b.url, operator);
    const survivorRssMb = Math.round(procStats(b.child.pid!).rssMb);

    return {
      hosts,
      workers: workers.length,
      heartbeatSeconds: HEARTBEAT_MS / 1000,
      setup: { registerMs, rampMs, connectAllMs: connectMs, connected: connected.connected, connectErrors: connected.errors,
        cpuSecondsToConnectAll: { A: round1(connectCpu.a), B: round1(connectCpu.b), postgres: round1(connectCpu.pg) } },
      channels: {
        held: steady.connected,
        byReplica: { A: onA, B: onB },
        metricsGaugeByReplica: { A: viewA.localChannels, B: viewB.localChannels },
      },
      steadyState: {
        windowSeconds: round1(windowS),
        cpuPercentOfOneCore: { A: pct(s0.a.cpuSeconds, s1.a.cpuSeconds), B: pct(s0.b.cpuSeconds, s1.b.cpuSeconds), postgres: pct(s0.pg, s1.pg) },
        rssMb: { A: Math.round(s1.a.rssMb), B: Math.round(s1.b.rssMb) },
        disconnectsDuringRun: steady.disconnects,
        loadAverage1m: { atStart: round1(s0.load), atEnd: round1(s1.load) },
      },
      sharedView: {
        // GET /v1/status on each replica: online hosts (reports from either replica) and channels open on some replica.
        A: { hostsOnline: viewA.hostsOnline, channelsAgent: viewA.channelsAgent },
        B: { hostsOnline: viewB.hostsOnline, channelsAgent: viewB.channelsAgent },
        agree: viewA.hostsOnline === viewB.hostsOnline && viewA.channelsAgent === viewB.channelsAgent,
        complete: viewA.hostsOnline === hosts && viewA.channelsAgent === hosts,
      },
      failover: {
        killed: 'A (SIGKILL)',
        hostsOnKilled: onA,
        firstBackOnSurvivorMs: firstMs,
        lastBackOnSurvivorMs: lastMs,
        survivorMetricShowsAllMs: metricAllMs,
        onSurvivorAfter: afterFailover.byUrl[b.url] ?? 0,
        survivorCpuSeconds: round1(survivorCpuS),
        survivorRssMbAfter: survivorRssMb,
        survivorViewAfterTtl: { hostsOnline: viewAfter.hostsOnline, channelsAgent: viewAfter.channelsAgent, localChannels: viewAfter.localChannels },
        connectErrorsTotal: afterFailover.errors,
        resolutionMs: POLL_MS,
      },
    };
  } finally {
    for (const w of workers) w.send({ type: 'stop' } satisfies ToWorker);
    await Promise.all(workers.map((w) => (w.exitCode === null ? once(w, 'exit') : undefined)));
    for (const r of replicas) await stopController(r.child);
    await operator?.close();
    await rm(root, { recursive: true, force: true });
    await db.drop().catch(() => undefined);
  }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const hosts = arg(args, 'hosts', 10_000);
  const workerCount = arg(args, 'workers', 4);
  const steadyS = arg(args, 'steady', 20);
  const rolloutHosts = arg(args, 'rollout-hosts', 10);
  const sizeMb = arg(args, 'size-mb', 1);
  const rounds = arg(args, 'rounds', 2);
  const loadAtStart = loadavg().map(round1);
  const pgServer = await startPostgres();
  try {
    const channels = hosts > 0 ? await channelsAndFailover(pgServer, hosts, workerCount, steadyS) : null;
    const rollouts = rolloutHosts > 0 ? await runReplicaRollouts(pgServer, rolloutHosts, sizeMb, rounds) : null;
    return {
      machine: { cores: cpus().length, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg().map(round1), node: process.version },
      postgres: 'PostgreSQL from /usr/lib/postgresql (test/helpers/postgres.ts): loopback, fsync off, one database per part',
      channels,
      rollouts,
    };
  } finally {
    await pgServer.stop();
  }
}
