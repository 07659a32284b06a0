// Updater bench: (a) update request -> healthy agent vs tar -xzf + sync -f + agent start, (b) rollback -> healthy
// previous release vs agent start + 250 ms, (c) the updater's peak RSS (VmHWM) while installing a 500 MB release.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, type Dispatcher } from 'undici';
import { buildReleaseToFile } from '../shared/release/index.js';
import { buildDispatcher } from '../shared/dispatcher.js';
import { writeReleaseTree } from '../test/helpers/releases.js';
import { AGENT_SCRIPT, buildAgentRelease, entrypointScript } from '../test/updater/helpers/agent-release.js';
import { freePort, makeHost, sendRelease, startUpdater, updaterClient, type TestHost } from '../test/updater/helpers/host.js';
import { withSmallYoungGeneration } from '../updater/supervisor.js';
import { timeTarBaseline } from './install.js';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number): number => Math.round(x * 10) / 10;

/** A release tree with the test agent plus `files` data files; built once per version. */
async function agentTree(dir: string, files: number, fileBytes: number): Promise<string> {
  const src = join(dir, 'src');
  await writeReleaseTree(src, {
    version: '0.0.0', files, fileBytes, content: 'mixed', entrypointScript: entrypointScript(),
    extra: { 'agent.mjs': AGENT_SCRIPT, 'behaviour.json': JSON.stringify({ mode: 'good' }) },
  });
  return src;
}

/** Milliseconds from spawning the agent entrypoint in `dir` to a healthy /v1/health answer. */
async function timeAgentStart(host: TestHost, dir: string, id: string): Promise<number> {
  await writeFile(join(dir, '.swarm-release.json'), JSON.stringify({ id, version: '0.0.0', installedAt: new Date().toISOString() }));
  const port = await freePort();
  const d = buildDispatcher(host.updaterId.material, { expect: { role: 'agent', name: 'h1' } });
  const t0 = performance.now();
  const child = spawn(join(dir, 'bin', 'swarm-agent'), ['run'], { cwd: dir, env: { ...process.env, SWARM_PKI_DIR: host.pkiDir, SWARM_AGENT_LISTEN: `127.0.0.1:${port}` }, stdio: 'ignore' });
  try {
    for (let i = 0; i < 2000; i++) {
      try {
        const res = await request(`https://127.0.0.1:${port}/v1/health`, { dispatcher: d });
        const body = (await res.body.json()) as { status?: string };
        if (body.status === 'ok') return performance.now() - t0;
      } catch {
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    throw new Error('agent did not start');
  } finally {
    child.kill('SIGKILL');
    await d.close();
  }
}

async function post(client: Dispatcher, port: number, path: string, file?: { path: string; id: string }): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  const res = await request(`https://127.0.0.1:${port}${path}`, {
    method: 'POST', dispatcher: client,
    ...(file ? { body: createReadStream(file.path, { highWaterMark: 256 * 1024 }), headers: { 'content-type': 'application/gzip', 'content-length': String((await stat(file.path)).size), 'x-swarm-release-sha256': file.id } } : {}),
  });
  await res.body.text();
  return { status: res.statusCode, ms: performance.now() - t0 };
}

/** args: [--rounds N] [--skip-rss] [--dir DIR] */
export async function run(args: string[]): Promise<Record<string, unknown>> {
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const rounds = Number(opt('--rounds') ?? 3);
  const base = await mkdtemp(join(opt('--dir') ?? tmpdir(), 'swarm-bench-updater-'));
  const host = await makeHost({ watch: { windowMs: 0, intervalMs: 100, maxFailures: 3 }, probe: { deadlineMs: 30_000 } });
  const client = (await updaterClient()).dispatcher;
  const result: Record<string, unknown> = {};
  try {
    const src = await agentTree(base, 5000, 10 * 1024);
    const releases = [];
    for (let i = 0; i < rounds; i++) {
      const out = join(base, `r${i}.tar.gz`);
      const { id, bytes } = await buildReleaseToFile(src, out, { version: `2.0.${i}` });
      releases.push({ path: out, id, bytes });
    }
    const tarMs: number[] = [];
    const startMs: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const into = join(base, `tar-${i}`);
      tarMs.push(await timeTarBaseline(releases[i]!.path, into));
      startMs.push(await timeAgentStart(host, into, releases[i]!.id));
      await rm(into, { recursive: true, force: true });
    }
    const updater = await startUpdater(host);
    const updateMs: number[] = [];
    const rollbackMs: number[] = [];
    try {
      const v0 = await buildAgentRelease('1.0.0');
      if ((await sendRelease(client, updater.port, v0)).status !== 200) throw new Error('first install failed');
      for (const r of releases) {
        const u = await post(client, updater.port, '/v1/update', { path: r.path, id: r.id });
        if (u.status !== 200) throw new Error(`update answered ${u.status}`);
        updateMs.push(u.ms);
        const b = await post(client, updater.port, '/v1/rollback');
        if (b.status !== 200) throw new Error(`rollback answered ${b.status}`);
        rollbackMs.push(b.ms);
      }
    } finally {
      await updater.stop();
    }
    const baseline = median(tarMs) + median(startMs);
    result.update = {
      release: { files: 5000, unpackedMB: round((5000 * 10 * 1024) / 1e6), tarballMB: round(releases[0]!.bytes / 1e6) },
      requestToHealthyMs: round(median(updateMs)),
      tarXzfSyncMs: round(median(tarMs)),
      agentStartMs: round(median(startMs)),
      ratio: Math.round((median(updateMs) / baseline) * 100) / 100,
      target: '<= 1.3',
      rounds,
    };
    result.rollback = {
      requestToHealthyPreviousMs: round(median(rollbackMs)),
      agentStartMs: round(median(startMs)),
      budgetMs: round(median(startMs) + 250),
      withinBudget: median(rollbackMs) <= median(startMs) + 250,
    };
    if (!args.includes('--skip-rss')) {
      await rm(src, { recursive: true, force: true });
      const bigSrc = join(base, 'big');
      await writeReleaseTree(bigSrc, {
        version: '5.0.0', files: 5000, fileBytes: 100 * 1024, content: 'mixed', entrypointScript: entrypointScript(),
        extra: { 'agent.mjs': AGENT_SCRIPT, 'behaviour.json': JSON.stringify({ mode: 'good' }) },
      });
      const bigs = [];
      for (const version of ['5.0.0', '5.0.1']) {
        const path = join(base, `big-${version}.tar.gz`);
        bigs.push({ path, ...(await buildReleaseToFile(bigSrc, path, { level: 1, version })) });
      }
      await rm(bigSrc, { recursive: true, force: true });
      // As the supervisor runs its worker (NODE_OPTIONS=--max-semi-space-size=1), and with V8's defaults for comparison.
      const measure = async (nodeOptions: string | undefined, big: { path: string; id: string }): Promise<Record<string, unknown>> => {
        // A host of its own, so the peak is the install's (pruning older releases is another phase).
        const bigHost = await makeHost({ watch: { windowMs: 0, intervalMs: 100, maxFailures: 3 }, probe: { deadlineMs: 30_000 } });
        const fresh = await startUpdater(bigHost, { env: nodeOptions ? { NODE_OPTIONS: nodeOptions } : {} });
        try {
          const u = await post(client, fresh.port, '/v1/update', big);
          const status = await readFile(`/proc/${fresh.child.pid}/status`, 'utf8');
          const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
          return { status: u.status, ms: round(u.ms), updaterPeakRssMB: round(hwm / 1024) };
        } finally {
          await fresh.stop();
          await bigHost.cleanup();
        }
      };
      result.bigInstall = {
        unpackedMB: round((5000 * 100 * 1024) / 1e6), tarballMB: round(bigs[0]!.bytes / 1e6), targetMB: 120,
        supervisedWorker: await measure(withSmallYoungGeneration(undefined), bigs[0]!),
        v8Defaults: await measure(undefined, bigs[1]!),
      };
    }
    return result;
  } finally {
    await client.close();
    await host.cleanup();
    await rm(base, { recursive: true, force: true });
  }
}
