// Rollout throughput with replicas: a small real-process fleet (test/fleet harness) on PostgreSQL, split in two
// halves, each half updated by its own rollout, both started at once: first both on replica A (A drives both), then
// one on A and one on B (each drives its own, under its lease). Alternated for a few rounds, each round a new release.
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import type { RolloutJson } from '../shared/rollout-api.js';
import { runBin, spawnServe, SWARMCTL_BIN } from '../test/controller/helpers.js';
import { startFleet, type Fleet } from '../test/fleet/helpers.js';
import type { PgServer } from '../test/helpers/postgres.js';
import { procStats } from './channels.js';
import { hostDurations, quantile } from './rollout.js';

// Bounds of this bench only.
const ROLLOUT_TIMEOUT_MS = 300_000;
const START_CONCURRENCY = 4;
const PROBE_DEADLINE_MS = 60_000;
const WINDOW_MS = 1_000;
const MB = 1024 * 1024;
const round1 = (n: number): number => Math.round(n * 10) / 10;

interface Pair {
  mode: 'one replica' | 'two replicas';
  release: string;
  wallMs: number;
  rolloutsMs: number[];
  pushMs: { p50: number; max: number };
  cpuSeconds: { A: number; B: number };
}

async function rolloutPair(fleet: Fleet, urls: { A: string; B: string }, pids: { A: number; B: number }, mode: Pair['mode'], version: string, sizeBytes: number): Promise<Pair> {
  const rel = await fleet.release(version, { padBytes: sizeBytes, tag: mode.replace(' ', '-') });
  const names = fleet.hosts.map((h) => h.name);
  const halves = [names.slice(0, Math.ceil(names.length / 2)), names.slice(Math.ceil(names.length / 2))];
  const on = mode === 'one replica' ? [urls.A, urls.A] : [urls.A, urls.B];
  const adminDir = join(fleet.stateDir, 'operators', 'admin');
  const cpu0 = { A: procStats(pids.A).cpuSeconds, B: procStats(pids.B).cpuSeconds };
  const t0 = performance.now();
  const results = await Promise.all(halves.map(async (half, i) => {
    const r = await runBin(SWARMCTL_BIN, ['--json', 'rollout', 'start', rel.id, '--hosts', half.join(','), '--canary', '0', '--batch', '100%', '--max-parallel', String(half.length), '--wait'],
      { SWARMCTL_CONTROLLER: on[i]!, SWARMCTL_IDENTITY: adminDir, NO_COLOR: '1' }, ROLLOUT_TIMEOUT_MS);
    const ms = performance.now() - t0;
    let doc: RolloutJson;
    try {
      doc = JSON.parse(r.stdout) as RolloutJson;
    } catch {
      throw new Error(`rollout of ${half.join(',')} via ${on[i]} exited ${r.code} without JSON: ${r.stderr}`);
    }
    if (r.code !== 0 || doc.state !== 'done') throw new Error(`${mode}: rollout ended ${doc.state}: ${JSON.stringify(doc.hosts.filter((h) => h.state !== 'succeeded'))}`);
    return { ms, doc };
  }));
  const wallMs = performance.now() - t0;
  const pushes = results.flatMap((x) => hostDurations(x.doc));
  return {
    mode, release: version, wallMs: Math.round(wallMs), rolloutsMs: results.map((x) => Math.round(x.ms)),
    pushMs: { p50: quantile(pushes, 0.5), max: Math.max(...pushes) },
    cpuSeconds: { A: round1(procStats(pids.A).cpuSeconds - cpu0.A), B: round1(procStats(pids.B).cpuSeconds - cpu0.B) },
  };
}

/** Two rollouts at once on `hosts` real hosts, driven by one replica then by two, `rounds` times each (alternating). */
export async function runReplicaRollouts(pg: PgServer, hosts: number, sizeMb: number, rounds = 2): Promise<Record<string, unknown>> {
  const db = await pg.createDatabase();
  const sizeBytes = Math.round(sizeMb * MB);
  let fleet: Fleet | undefined;
  let b: Awaited<ReturnType<typeof spawnServe>> | undefined;
  try {
    fleet = await startFleet({ hosts, store: db.url, config: () => ({ windowMs: WINDOW_MS, probeDeadlineMs: PROBE_DEADLINE_MS }), startConcurrency: START_CONCURRENCY });
    // Replica B: a copy of A's state directory (the same PKI), the same database. The updaters' channels stay on A;
    // pushes go from the driving replica to each updater directly.
    const stateB = join(fleet.root, 'controller-b');
    await cp(fleet.stateDir, stateB, { recursive: true, preserveTimestamps: true });
    b = await spawnServe(stateB, ['--heartbeat', '1', '--offline-timeout', '30', '--store', db.url]);
    const urls = { A: fleet.url, B: b.url };
    const pids = { A: fleet.controllerPid()!, B: b.child.pid! };
    await fleet.installEverywhere(await fleet.release('1.0.0'));
    const pairs: Pair[] = [];
    for (let i = 0; i < rounds; i++) {
      pairs.push(await rolloutPair(fleet, urls, pids, 'one replica', `2.${i}.0`, sizeBytes));
      pairs.push(await rolloutPair(fleet, urls, pids, 'two replicas', `3.${i}.0`, sizeBytes));
    }
    const best = (mode: Pair['mode']): number => Math.min(...pairs.filter((p) => p.mode === mode).map((p) => p.wallMs));
    return {
      hosts,
      releaseMB: sizeMb,
      updaterWatchWindowMs: WINDOW_MS,
      strategy: `two rollouts at once, ${Math.ceil(hosts / 2)} + ${Math.floor(hosts / 2)} hosts, canary 0, batch 100%, max-parallel = half`,
      pairs,
      bestWallMs: { oneReplica: best('one replica'), twoReplicas: best('two replicas') },
    };
  } finally {
    await b?.stop();
    await fleet?.close();
    await db.drop().catch(() => undefined);
  }
}
