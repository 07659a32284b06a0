// Installer throughput and memory: install vs `tar -xzf` + `sync -f` of the same tarball, and peak RSS on a big release.
import { execFile, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { buildReleaseToFile } from '../shared/release/index.js';
import { DEFAULT_INSTALL_LIMITS, ReleaseStore } from '../updater/install/index.js';
import { writeReleaseTree } from '../test/helpers/releases.js';

const run$ = promisify(execFile);

export interface GeneratedRelease {
  tarball: string;
  id: string;
  bytes: number;
  files: number;
  unpackedBytes: number;
}

/** Generate a release of `files` files of `fileBytes` each (about 2:1 compressible) and build it to dir/release.tar.gz. */
export async function generateRelease(dir: string, options: { files: number; fileBytes: number; version?: string; level?: number }): Promise<GeneratedRelease> {
  const src = join(dir, 'src');
  await writeReleaseTree(src, { version: options.version ?? '1.0.0', files: options.files, fileBytes: options.fileBytes, content: 'mixed' });
  const tarball = join(dir, 'release.tar.gz');
  const { id, bytes } = await buildReleaseToFile(src, tarball, { level: options.level ?? 6 });
  await rm(src, { recursive: true, force: true });
  return { tarball, id, bytes, files: options.files, unpackedBytes: options.files * options.fileBytes };
}

/** Milliseconds for `tar -xzf` into a fresh dir followed by `sync -f` (the same durability as an install). */
export async function timeTarBaseline(tarball: string, into: string): Promise<number> {
  await mkdir(into, { recursive: true });
  await run$('sync');
  const t0 = performance.now();
  await run$('tar', ['-xzf', tarball, '-C', into]);
  await run$('sync', ['-f', into]);
  return performance.now() - t0;
}

/** Milliseconds for ReleaseStore.install of the tarball into a fresh store under root, and the worst event-loop delay meanwhile. */
export async function timeInstall(release: GeneratedRelease, root: string): Promise<{ ms: number; maxEventLoopDelayMs: number; p99EventLoopDelayMs: number }> {
  const store = new ReleaseStore({ root, stagingDir: join(root, 'staging'), stateDir: join(root, 'state') });
  await store.init();
  await run$('sync');
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const t0 = performance.now();
  await store.install({ body: createReadStream(release.tarball, { highWaterMark: 256 * 1024 }), expectedId: release.id, limits: { ...DEFAULT_INSTALL_LIMITS } });
  const ms = performance.now() - t0;
  h.disable();
  return { ms, maxEventLoopDelayMs: h.max / 1e6, p99EventLoopDelayMs: h.percentile(99) / 1e6 };
}

/** The event-loop delay of this process doing nothing for ms: what the machine's load alone causes. */
export async function idleEventLoopDelay(ms: number): Promise<{ max: number; p99: number }> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  await new Promise((r) => setTimeout(r, ms));
  h.disable();
  return { max: h.max / 1e6, p99: h.percentile(99) / 1e6 };
}

/** Install in a child process and report its peak RSS (what the updater would use). */
export async function installInChild(release: GeneratedRelease, root: string): Promise<{ ms: number; maxRssMB: number }> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [self, 'child', release.tarball, release.id, root], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`install child exited with ${code}`);
  return JSON.parse(out) as { ms: number; maxRssMB: number };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number): number => Math.round(x * 10) / 10;
const round2 = (x: number): number => Math.round(x * 100) / 100;

/** args: [--dir DIR] (filesystem to measure on) [--rounds N] [--skip-rss] */
export async function run(args: string[]): Promise<Record<string, unknown>> {
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const base = await mkdtemp(join(opt('--dir') ?? tmpdir(), 'swarm-bench-install-'));
  const rounds = Number(opt('--rounds') ?? 3);
  try {
    const small = await generateRelease(join(base, 'small'), { files: 5000, fileBytes: 10 * 1024 });
    const tarMs: number[] = [];
    const installMs: number[] = [];
    let maxDelay = 0;
    let p99Delay = 0;
    for (let i = 0; i < rounds; i += 1) {
      tarMs.push(await timeTarBaseline(small.tarball, join(base, `tar-${i}`)));
      const r = await timeInstall(small, join(base, `install-${i}`));
      installMs.push(r.ms);
      maxDelay = Math.max(maxDelay, r.maxEventLoopDelayMs);
      p99Delay = Math.max(p99Delay, r.p99EventLoopDelayMs);
      await rm(join(base, `tar-${i}`), { recursive: true, force: true });
      await rm(join(base, `install-${i}`), { recursive: true, force: true });
    }
    const idle = await idleEventLoopDelay(Math.min(5000, Math.max(1000, median(installMs))));
    const result: Record<string, unknown> = {
      release: { files: small.files, unpackedMB: round(small.unpackedBytes / 1e6), tarballMB: round(small.bytes / 1e6) },
      tarXzfSyncMs: round(median(tarMs)),
      installMs: round(median(installMs)),
      ratio: round2(median(installMs) / median(tarMs)),
      eventLoopDelayMs: { installMax: round(maxDelay), installP99: round(p99Delay), idleMax: round(idle.max), idleP99: round(idle.p99) },
      rounds,
    };
    if (!args.includes('--skip-rss')) {
      await rm(join(base, 'small'), { recursive: true, force: true });
      const big = await generateRelease(join(base, 'big'), { files: 5000, fileBytes: 100 * 1024, level: 1 });
      const child = await installInChild(big, join(base, 'install-big'));
      result.bigRelease = { files: big.files, unpackedMB: round(big.unpackedBytes / 1e6), tarballMB: round(big.bytes / 1e6), installMs: round(child.ms), peakRssMB: round(child.maxRssMB) };
    }
    return result;
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

async function child(tarball: string, id: string, root: string): Promise<void> {
  const store = new ReleaseStore({ root, stagingDir: join(root, 'staging'), stateDir: join(root, 'state') });
  await store.init();
  const t0 = performance.now();
  await store.install({ body: createReadStream(tarball, { highWaterMark: 256 * 1024 }), expectedId: id, limits: { ...DEFAULT_INSTALL_LIMITS } });
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
}

// `node bench/install.js [args]` runs the bench; `node bench/install.js child ...` is the RSS probe.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [mode, ...rest] = process.argv.slice(2);
  const job = mode === 'child' ? child(rest[0]!, rest[1]!, rest[2]!) : run(process.argv.slice(2)).then((r) => void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`));
  job.catch((err: unknown) => {
    process.stderr.write(`bench install: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
