// `npm run bench -- agent`: cold start of `swarm-agent run` to healthy-over-mTLS and to READY=1, health
// requests/sec over mTLS with connection reuse, and health latency for the updater while another client floods.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request, type Dispatcher } from 'undici';
import { CertificateAuthority, createCa, generateKeyPair, writeIdentityFiles } from '../pki/index.js';
import type { Role } from '../shared/identity.js';
import { checkTlsMaterial, type TlsMaterial } from '../shared/tls.js';
import { buildDispatcher } from '../shared/dispatcher.js';

const AGENT_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'agent', 'main.js');

interface Setup {
  root: string;
  pkiDir: string;
  releaseDir: string;
  notifyLog: string;
  binDir: string;
  controller: TlsMaterial;
  updater: TlsMaterial;
}

async function setup(): Promise<Setup> {
  const root = await mkdtemp(join(tmpdir(), 'swarm-bench-agent-'));
  const ca = await CertificateAuthority.load(await createCa({ cluster: 'bench' }));
  const key = await generateKeyPair();
  const mint = (role: Role, name: string): { material: TlsMaterial; cert: string } => {
    const issued = ca.issue({ publicKeyPem: key.publicKeyPem, identity: { cluster: 'bench', role, name } });
    return { cert: issued.certPem, material: checkTlsMaterial({ ca: ca.certPem, cert: issued.certPem, key: key.privateKeyPem }, `${role}/${name}`) };
  };
  const pkiDir = join(root, 'pki');
  await writeIdentityFiles(pkiDir, 'agent', { caPem: ca.certPem, certPem: mint('agent', 'h1').cert, keyPem: key.privateKeyPem });
  const releaseDir = join(root, 'release');
  await mkdir(releaseDir);
  await writeFile(join(releaseDir, 'swarm-release.json'), JSON.stringify({
    name: 'bench', version: '1.0.0', entrypoint: ['bin/swarm-agent', 'run'],
    services: [{ name: 'sensor', command: ['/bin/sh', '-c', 'exec sleep 3600'] }],
  }));
  await writeFile(join(releaseDir, '.swarm-release.json'), JSON.stringify({ id: 'a'.repeat(64), version: '1.0.0', installedAt: new Date().toISOString() }));
  const binDir = join(root, 'bin');
  const notifyLog = join(root, 'notify.log');
  await mkdir(binDir);
  await writeFile(join(binDir, 'systemd-notify'), `#!/bin/sh\necho "$*" >> ${notifyLog}\n`);
  await chmod(join(binDir, 'systemd-notify'), 0o755);
  return { root, pkiDir, releaseDir, notifyLog, binDir, controller: mint('controller', 'controller').material, updater: mint('updater', 'h1').material };
}

function startAgent(s: Setup, port: number, env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, [AGENT_MAIN, 'run', '--pki-dir', s.pkiDir, '--listen', `127.0.0.1:${port}`], {
    cwd: s.releaseDir,
    env: { PATH: `${s.binDir}:${process.env.PATH}`, NOTIFY_SOCKET: '/run/bench/notify', SWARM_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.resume(); // never let an unread pipe block the agent
  return child;
}

/** The agent's own account of its startup (wall and CPU ms from process start), from its 'agent ready' log line. */
function readyLine(child: ChildProcess): Promise<{ startupMs: number; startupCpuMs: number }> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      buf += c;
      for (const line of buf.split('\n')) {
        if (!line.includes('"agent ready"')) continue;
        const l = JSON.parse(line) as { startupMs: number; startupCpuMs: number };
        resolve({ startupMs: l.startupMs, startupCpuMs: l.startupCpuMs });
      }
      if (buf.length > 1_000_000) buf = buf.slice(-10_000);
    });
    child.once('exit', () => reject(new Error('agent exited before ready')));
  });
}

async function stopAgent(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function healthOnce(url: string, d: Dispatcher): Promise<number> {
  const res = await request(url, { dispatcher: d, headersTimeout: 5_000, bodyTimeout: 5_000 });
  await res.body.dump();
  return res.statusCode;
}

let nextPort = 20_000 + Math.floor(Math.random() * 20_000);

/** One cold start: ms from spawn to the first 200 over mTLS, and to the READY=1 line. */
async function coldStart(s: Setup): Promise<{ healthMs: number; readyMs: number; startupMs: number; startupCpuMs: number }> {
  await rm(s.notifyLog, { force: true });
  const port = nextPort++;
  const d = buildDispatcher(s.updater, { expect: { role: 'agent', name: 'h1' }, connections: 1, connectTimeoutMs: 1_000 });
  const t0 = performance.now();
  const child = startAgent(s, port);
  const own = readyLine(child);
  own.catch(() => undefined);
  try {
    const deadline = t0 + 10_000;
    const health = (async () => {
      while (performance.now() < deadline) {
        try {
          if ((await healthOnce(`https://127.0.0.1:${port}/v1/health`, d)) === 200) return performance.now() - t0;
        } catch {
          /* not listening yet */
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      throw new Error('agent never answered health');
    })();
    const ready = (async () => {
      while (performance.now() < deadline) {
        if ((await readFile(s.notifyLog, 'utf8').catch(() => '')).includes('READY=1')) return performance.now() - t0;
        await new Promise((r) => setTimeout(r, 2));
      }
      throw new Error('agent never sent READY=1');
    })();
    const [healthMs, readyMs, self] = await Promise.all([health, ready, own]);
    return { healthMs, readyMs, ...self };
  } finally {
    await d.close();
    await stopAgent(child);
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const round = (n: number): number => Math.round(n * 10) / 10;

/** Sequential requests on `workers` loops sharing a dispatcher with `connections` sockets, for durationMs. */
async function hammer(url: string, d: Dispatcher, workers: number, durationMs: number): Promise<{ ok: number; limited: number; other: number; latencies: number[] }> {
  const end = performance.now() + durationMs;
  const out = { ok: 0, limited: 0, other: 0, latencies: [] as number[] };
  await Promise.all(Array.from({ length: workers }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        const code = await healthOnce(url, d);
        if (code === 200) out.ok += 1;
        else if (code === 429) out.limited += 1;
        else out.other += 1;
      } catch {
        out.other += 1;
      }
      out.latencies.push(performance.now() - t);
    }
  }));
  out.latencies.sort((a, b) => a - b);
  return out;
}

async function waitHealthy(url: string, d: Dispatcher): Promise<void> {
  for (let i = 0; i < 1000; i += 1) {
    try {
      if ((await healthOnce(url, d)) === 200) return;
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('agent not healthy');
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const runs = Number(args[args.indexOf('--runs') + 1] ?? 5) || 5;
  const seconds = Number(args[args.indexOf('--seconds') + 1] ?? 3) || 3;
  const s = await setup();
  try {
    await coldStart(s); // warm the disk cache; not counted
    const starts: { healthMs: number; readyMs: number; startupMs: number; startupCpuMs: number }[] = [];
    for (let i = 0; i < runs; i += 1) starts.push(await coldStart(s));
    const h = starts.map((x) => x.healthMs).sort((a, b) => a - b);
    const r = starts.map((x) => x.readyMs).sort((a, b) => a - b);
    const w = starts.map((x) => x.startupMs).sort((a, b) => a - b);
    const c = starts.map((x) => x.startupCpuMs).sort((a, b) => a - b);

    // throughput: the rate limit raised so it measures the server, not the limiter
    const port = nextPort++;
    const url = `https://127.0.0.1:${port}/v1/health`;
    let child = startAgent(s, port, { SWARM_AGENT_RATE_LIMIT: '10000000' });
    const connections = 4;
    const d = buildDispatcher(s.controller, { expect: { role: 'agent', name: 'h1' }, connections });
    let throughput;
    try {
      await waitHealthy(url, d);
      const t = await hammer(url, d, connections, seconds * 1000);
      throughput = { connections, pipelining: 1, seconds, requests: t.ok, rps: Math.round(t.ok / seconds), errors: t.other, p50Ms: round(percentile(t.latencies, 50)), p99Ms: round(percentile(t.latencies, 99)) };
    } finally {
      await d.close();
      await stopAgent(child);
    }

    // flood: the controller identity hammers with 16 connections at the default limit; the updater probes
    const port2 = nextPort++;
    const url2 = `https://127.0.0.1:${port2}/v1/health`;
    child = startAgent(s, port2);
    const flooder = buildDispatcher(s.controller, { expect: { role: 'agent', name: 'h1' }, connections: 16 });
    const prober = buildDispatcher(s.updater, { expect: { role: 'agent', name: 'h1' }, connections: 1 });
    let flood;
    try {
      await waitHealthy(url2, prober);
      const probes: number[] = [];
      let probeOk = 0;
      let probeCount = 0;
      const floodRun = hammer(url2, flooder, 16, seconds * 1000);
      const end = performance.now() + seconds * 1000;
      while (performance.now() < end) {
        const t = performance.now();
        probeCount += 1;
        if ((await healthOnce(url2, prober).catch(() => 0)) === 200) probeOk += 1;
        probes.push(performance.now() - t);
        await new Promise((res) => setTimeout(res, 50));
      }
      const f = await floodRun;
      probes.sort((a, b) => a - b);
      flood = {
        flooderRequests: f.ok + f.limited + f.other, flooderServed: f.ok, flooderRateLimited: f.limited, flooderErrors: f.other,
        probes: probeCount, probesOk: probeOk, probeP50Ms: round(percentile(probes, 50)), probeP99Ms: round(percentile(probes, 99)), probeMaxMs: round(probes.at(-1) ?? NaN),
      };
    } finally {
      await Promise.all([flooder.close(), prober.close()]);
      await stopAgent(child);
    }

    return {
      coldStart: {
        runs, targetMs: 400,
        toHealthyMs: { median: round(percentile(h, 50)), min: round(h[0]!), max: round(h.at(-1)!) },
        toReadyMs: { median: round(percentile(r, 50)), min: round(r[0]!), max: round(r.at(-1)!) },
        // from the agent's own log: process start to ready, wall clock and CPU (user+system; load-independent)
        agentReportedMs: { median: percentile(w, 50), min: w[0]!, max: w.at(-1)! },
        agentCpuMs: { median: percentile(c, 50), min: c[0]!, max: c.at(-1)! },
      },
      throughput,
      flood,
      node: process.version,
    };
  } finally {
    await rm(s.root, { recursive: true, force: true });
  }
}
