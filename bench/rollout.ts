// `npm run bench -- rollout [--hosts N] [--size-mb M] [--window-ms W]`: a release pushed at once to a fleet of real
// updaters on loopback (test/fleet harness), then rolled back fleet-wide; timings, controller peak RSS, and the
// ratio of the rollout's time to a floor (loopback TLS throughput for every byte + one host's apply alone).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { buildDispatcher } from '../shared/dispatcher.js';
import type { FleetRollbackReport, RolloutJson } from '../shared/rollout-api.js';
import { buildServerHttpsOptions, loadTlsMaterial } from '../shared/tls.js';
import { startFleet, type Fleet, type FleetRelease } from '../test/fleet/helpers.js';
import { pollUntil } from '../test/helpers/wait.js';

// Bounds of this bench only (not limits of a Swarm process, so not in shared/limits.ts).
const ROLLOUT_TIMEOUT_MS = 300_000;
const SETTLE_TIMEOUT_MS = 120_000;
const TLS_ROUNDS = 3;
const RSS_SAMPLE_MS = 50;
// Hosts started at once: 20 updaters starting together on 2 cores miss the harness's 20 s listen deadline.
const START_CONCURRENCY = 4;
// 40 agents starting at once on 2 loaded cores missed the tests' 15 s probe deadline (the agent, not the push).
const PROBE_DEADLINE_MS = 60_000;

const round = (x: number): number => Math.round(x * 10) / 10;
const MB = 1024 * 1024;

/** The q-quantile (nearest rank) of `xs`. */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Push durations (ms) of the hosts of a rollout, from their startedAt/endedAt. */
export function hostDurations(r: Pick<RolloutJson, 'hosts'>): number[] {
  return r.hosts.filter((h) => h.startedAt && h.endedAt).map((h) => Date.parse(h.endedAt!) - Date.parse(h.startedAt!));
}

/** The floor of a rollout: every byte through loopback TLS once, plus the slowest host's apply on its own. */
export function rolloutFloorMs(hosts: number, bytes: number, tlsBytesPerSecond: number, singleApplyMs: number): number {
  return (hosts * bytes * 1000) / tlsBytesPerSecond + singleApplyMs;
}

function arg(args: string[], name: string): number | undefined {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
}

function procKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/** The controller's memory by kind (MB) from its /metrics, every `everyMs` until stopped; the sample with the highest rss. */
function sampleMemoryKinds(fleet: Fleet, everyMs: number): { stop: () => Promise<Record<string, number> | null> } {
  let best: Record<string, number> | null = null;
  let stopped = false;
  const loop = (async () => {
    for (let i = 0; i < 10_000 && !stopped; i++) {
      try {
        const kinds: Record<string, number> = {};
        for (const m of (await fleet.controllerMetrics()).matchAll(/^swarm_process_memory_bytes\{kind="(\w+)"\} (\d+)/gm)) kinds[m[1]!] = round(Number(m[2]) / MB);
        if (best === null || (kinds.rss ?? 0) > (best.rss ?? 0)) best = kinds;
      } catch { /* a slow answer under load: the next sample */ }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return { stop: async () => { stopped = true; await loop; return best; } };
}

/** Polls a process's VmRSS until stopped; the peak in MB. */
function sampleRss(pid: number): { stop(): number } {
  let peak = procKb(pid, 'VmRSS');
  const timer = setInterval(() => { peak = Math.max(peak, procKb(pid, 'VmRSS')); }, RSS_SAMPLE_MS);
  return { stop: () => (clearInterval(timer), Math.max(peak, procKb(pid, 'VmRSS')) / 1024) };
}

// The sink runs in its own process, as an updater does: sender and receiver do not share one event loop.
const SINK = `import { createServer } from 'node:https';
const server = createServer(JSON.parse(process.env.SINK_TLS), (req, res) => { req.resume(); req.on('end', () => res.end('ok')); });
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));`;

/** Best of TLS_ROUNDS uploads of `file` over mutual TLS with our policy (undici client -> node https server). */
async function measureTlsThroughput(fleet: Fleet, file: string): Promise<{ bytesPerSecond: number; roundsMs: number[] }> {
  const server = await loadTlsMaterial(join(fleet.stateDir, 'pki'), 'controller');
  const client = await loadTlsMaterial(join(fleet.stateDir, 'operators', 'admin'), 'operator');
  const child = spawn(process.execPath, ['--input-type=module', '-e', SINK], {
    env: { ...process.env, SINK_TLS: JSON.stringify(buildServerHttpsOptions(server)) }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const dispatcher = buildDispatcher(client, { expect: { role: 'controller' } });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('TLS sink did not listen within 10 s')), 10_000);
      child.stdout!.once('data', (d: Buffer) => { clearTimeout(timer); resolve(Number(d.toString().trim())); });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`TLS sink exited (${code})`)); });
    });
    const bytes = (await stat(file)).size;
    const roundsMs: number[] = [];
    for (let i = 0; i < TLS_ROUNDS; i++) {
      const t0 = performance.now();
      const res = await request(`https://127.0.0.1:${port}/`, {
        method: 'POST', dispatcher, body: createReadStream(file, { highWaterMark: 256 * 1024 }),
        headers: { 'content-length': String(bytes) }, signal: AbortSignal.timeout(60_000),
      });
      await res.body.text();
      roundsMs.push(performance.now() - t0);
    }
    return { bytesPerSecond: (bytes * 1000) / Math.min(...roundsMs), roundsMs: roundsMs.map(round) };
  } finally {
    await dispatcher.close();
    if (child.exitCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  }
}

async function swarmctlJson<T>(fleet: Fleet, args: string[], timeoutMs: number): Promise<{ ms: number; code: number; doc: T }> {
  const t0 = performance.now();
  const r = await fleet.swarmctl(['--json', ...args], timeoutMs);
  const ms = performance.now() - t0;
  try {
    return { ms, code: r.code, doc: JSON.parse(r.stdout) as T };
  } catch {
    throw new Error(`swarmctl ${args.join(' ')} exited ${r.code} without JSON: ${r.stderr}`);
  }
}

/** Wait until every named host's updater reports `release` active and healthy; ms from `t0` to the last one. */
async function awaitActive(fleet: Fleet, names: string[], release: string, t0: number): Promise<number> {
  const at = new Map<string, number>();
  await pollUntil(`${names.length} host(s) on ${release.slice(0, 12)}`, async () => {
    await Promise.all(names.filter((n) => !at.has(n)).map(async (n) => {
      const h = await fleet.updaterHealth(n);
      if (h.active?.id === release && h.running === null && h.agent?.status === 'ok') at.set(n, performance.now());
    }));
    return at.size === names.length ? true : undefined;
  }, { timeoutMs: SETTLE_TIMEOUT_MS, everyMs: 20, retryErrors: true });
  return Math.max(...at.values()) - t0;
}

async function rolloutRollback(fleet: Fleet, hosts: number, sizeBytes: number): Promise<Record<string, unknown>> {
  const names = fleet.hosts.map((h) => h.name);
  const v1 = await fleet.release('1.0.0');
  // Not fleet.installEverywhere: its 60 s bound is a test's, too short for 40 hosts on 2 loaded cores.
  const first = await swarmctlJson<RolloutJson>(fleet, ['rollout', 'start', v1.id, '--all', '--canary', '0', '--batch', '100%', '--max-parallel', String(hosts), '--wait'], ROLLOUT_TIMEOUT_MS);
  if (first.code !== 0) throw new Error(`first install ended ${first.doc.state}: ${JSON.stringify(first.doc.hosts.filter((h) => h.state !== 'succeeded'))}`);
  const solo: FleetRelease = await fleet.release('1.9.0', { padBytes: sizeBytes, tag: 'solo' });
  const v2: FleetRelease = await fleet.release('2.0.0', { padBytes: sizeBytes, tag: 'fleet' });
  const bytes = (await stat(v2.file)).size;
  const tls = await measureTlsThroughput(fleet, v2.file);

  // One host alone first: its apply and its rollback are the single-host figures the fleet is compared with.
  const one = await swarmctlJson<RolloutJson>(fleet, ['rollout', 'start', solo.id, '--hosts', names[0]!, '--canary', '0', '--batch', '1', '--max-parallel', '1', '--wait'], ROLLOUT_TIMEOUT_MS);
  if (one.code !== 0) throw new Error(`single-host rollout ended ${one.doc.state}: ${JSON.stringify(one.doc.hosts)}`);
  const singleApplyMs = hostDurations(one.doc)[0]!;
  const tb = performance.now();
  const oneBack = await swarmctlJson<FleetRollbackReport>(fleet, ['rollback', names[0]!], ROLLOUT_TIMEOUT_MS);
  if (oneBack.code !== 0) throw new Error(`single-host rollback: ${JSON.stringify(oneBack.doc.hosts)}`);
  const singleRollbackMs = await awaitActive(fleet, [names[0]!], v1.id, tb);

  const pid = fleet.controllerPid();
  if (pid === undefined) throw new Error('no controller pid');
  const idleRssMb = procKb(pid, 'VmRSS') / 1024;
  const rss = sampleRss(pid);
  const kinds = sampleMemoryKinds(fleet, 250);
  let rolloutPeakMb: number;
  let peakKinds: Record<string, number> | null;
  let r: Awaited<ReturnType<typeof swarmctlJson<RolloutJson>>>;
  try {
    r = await swarmctlJson<RolloutJson>(fleet, ['rollout', 'start', v2.id, '--all', '--canary', '0', '--batch', '100%', '--max-parallel', String(hosts), '--wait'], ROLLOUT_TIMEOUT_MS);
  } finally {
    rolloutPeakMb = rss.stop();
    peakKinds = await kinds.stop();
  }
  if (r.code !== 0) throw new Error(`fleet rollout ended ${r.doc.state}: ${JSON.stringify(r.doc.hosts.filter((h) => h.state !== 'succeeded'))}`);
  const pushes = hostDurations(r.doc);
  const floorMs = rolloutFloorMs(hosts, bytes, tls.bytesPerSecond, singleApplyMs);

  const tr = performance.now();
  const trWall = Date.now();
  const back = await swarmctlJson<FleetRollbackReport>(fleet, ['rollback', '--all'], ROLLOUT_TIMEOUT_MS);
  if (back.code !== 0) throw new Error(`fleet rollback: ${JSON.stringify(back.doc.hosts.filter((h) => h.state !== 'rolled-back'))}`);
  const fleetRollbackMs = await awaitActive(fleet, names, v1.id, tr);
  const records = await Promise.all(names.map(async (n) => (await fleet.operations(n, { kind: 'rollback', limit: 1 }))[0]!));
  const perHostRollbackMs = records.map((x) => Date.parse(x.endedAt!) - Date.parse(x.startedAt));
  // When each updater began its rollback, from the command's start (one machine, one clock): the controller's
  // fan-out, the part of a fleet rollback that grows with the fleet on the controller rather than on the hosts.
  const dispatchMs = records.map((x) => Date.parse(x.startedAt) - trWall);

  return {
    hosts,
    release: { tarballMB: round(bytes / MB), randomBytesMB: round(sizeBytes / MB) },
    rollout: {
      totalMs: Math.round(r.ms),
      controllerMs: r.doc.endedAt ? Date.parse(r.doc.endedAt) - Date.parse(r.doc.createdAt) : null,
      pushMs: { p50: quantile(pushes, 0.5), p95: quantile(pushes, 0.95), max: Math.max(...pushes) },
      MBPerSecond: round((hosts * bytes * 1000) / r.ms / MB),
      singleHostApplyMs: Math.round(singleApplyMs),
      floorMs: Math.round(floorMs),
      ratioToFloor: Math.round((r.ms / floorMs) * 100) / 100,
    },
    loopbackTls: { MBPerSecond: round(tls.bytesPerSecond / MB), roundsMs: tls.roundsMs, note: 'best of rounds; undici client -> node https server in another process, our TLS policy, mutual TLS' },
    controllerPeakRssMB: { beforeRollout: round(idleRssMb), duringRollout: round(rolloutPeakMb), vmHwmWholeRun: round(procKb(pid, 'VmHWM') / 1024), targetMB: 150, atPeakFromMetrics: peakKinds },
    fleetRollback: {
      commandToLastHealthyMs: Math.round(fleetRollbackMs),
      commandMs: Math.round(back.ms),
      perHostRollbackMs: { p50: quantile(perHostRollbackMs, 0.5), max: Math.max(...perHostRollbackMs) },
      singleHostRollbackMs: Math.round(singleRollbackMs),
      overSingleHostMs: Math.round(fleetRollbackMs - singleRollbackMs),
      dispatchMs: { first: Math.min(...dispatchMs), last: Math.max(...dispatchMs), spread: Math.max(...dispatchMs) - Math.min(...dispatchMs) },
      // On real hosts each rollback runs on its own CPU: the last one starts at dispatch.last and takes what one
      // host alone takes. Here all N agents restart on this machine's cores at once, which is what perHost shows.
      separateHostsEstimateMs: Math.round(Math.max(...dispatchMs) + singleRollbackMs),
      target: 'within 1000 ms of the single-host rollback',
    },
  };
}

/** args: [--hosts N] (default: 20 then 40) [--size-mb M] (default 20) [--window-ms W] (default 1000) */
export async function run(args: string[]): Promise<Record<string, unknown>> {
  const only = arg(args, 'hosts');
  const sizes = only ? [only] : [20, 40];
  const sizeBytes = (arg(args, 'size-mb') ?? 20) * MB;
  const windowMs = arg(args, 'window-ms') ?? 1_000;
  const runs: Record<string, unknown>[] = [];
  for (const hosts of sizes) {
    const fleet = await startFleet({ hosts, config: () => ({ windowMs, probeDeadlineMs: PROBE_DEADLINE_MS }), startConcurrency: START_CONCURRENCY });
    try {
      runs.push(await rolloutRollback(fleet, hosts, sizeBytes));
    } finally {
      await fleet.close();
    }
  }
  return {
    ran: `fleet sizes ${sizes.join(', ')}: one controller and N real updaters (spawn mode) with real agents on this machine (${cpus().length} cores)`,
    strategy: 'canary 0, batch 100%, max-parallel = hosts (the whole fleet at once)',
    updaterWatchWindowMs: windowMs,
    runs,
  };
}
