// `npm run release`: package Swarm itself as a release (dist, package.json, production dependencies, bin/swarm-agent), reproducibly.
import { execFile } from 'node:child_process';
import { access, chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildReleaseToFile } from '../shared/release/index.js';

/** Build output that is not part of a running Swarm. */
const DIST_EXCLUDED = ['test', 'bench', 'scripts'];
/** `npm ls` reads the lock file and node_modules only; a minute is plenty and keeps a hung npm from hanging the release. */
const NPM_LS_TIMEOUT_MS = 60_000;
/** The native module better-sqlite3 loads: without it the controller cannot start, so a release without it is refused. */
const SQLITE_BINDING = join('node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');

/** What the agent entry point runs: node from PATH (or SWARM_NODE) on the release's own dist/agent/main.js. */
const AGENT_ENTRY = `#!/bin/sh
# Swarm agent entry point (written by npm run release).
here=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd) || exit 1
exec "\${SWARM_NODE:-node}" "$here/dist/agent/main.js" "$@"
`;

export interface StageOptions {
  /** The project root (package.json, node_modules). */
  root: string;
  /** The build output (`npm run build`: dist/). */
  dist: string;
  /** An empty directory to assemble the release tree in. */
  stage: string;
  /** Absolute paths of the production packages (default: `npm ls --omit=dev --all --parseable` in root). */
  listProductionPackages?: (root: string) => Promise<string[]>;
}

/** Production packages as npm sees them (every level), from the lock file and node_modules: never installs anything. */
export async function listProductionPackages(root: string): Promise<string[]> {
  const run = promisify(execFile);
  let stdout: string;
  try {
    ({ stdout } = await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, timeout: NPM_LS_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }));
  } catch (err) {
    // npm ls exits 1 on warnings (an extraneous package) but still lists the tree.
    stdout = (err as { stdout?: string }).stdout ?? '';
    if (stdout.trim() === '') throw new Error(`npm ls --omit=dev failed: ${(err as Error).message}`, { cause: err });
  }
  return stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '' && resolve(l) !== resolve(root));
}

/** `node_modules/...` of a package path (its place in the release), whatever node_modules resolves to on disk. */
function placeOf(path: string): string | undefined {
  const at = path.indexOf(`${sep}node_modules${sep}`);
  return at < 0 ? undefined : path.slice(at + 1);
}

/** Assemble the release tree: dist (no tests, benches, scripts), package.json, production dependencies, bin/swarm-agent, manifest. */
export async function stageSwarmRelease(options: StageOptions): Promise<{ version: string; packages: number }> {
  const pkg = JSON.parse(await readFile(join(options.root, 'package.json'), 'utf8')) as { name: string; version: string };
  const excluded = DIST_EXCLUDED.map((d) => join(options.dist, d));
  await cp(options.dist, join(options.stage, 'dist'), {
    recursive: true,
    filter: (src) => !excluded.some((x) => src === x || src.startsWith(`${x}${sep}`)),
  });
  await cp(join(options.root, 'package.json'), join(options.stage, 'package.json'));
  const places = [...new Set((await (options.listProductionPackages ?? listProductionPackages)(options.root)).map((p) => [p, placeOf(p)] as const)
    .filter((x): x is readonly [string, string] => x[1] !== undefined).map((x) => JSON.stringify(x)))].map((s) => JSON.parse(s) as [string, string]);
  for (const [src, place] of places.sort((a, b) => a[1].localeCompare(b[1]))) {
    const nested = join(src, 'node_modules');
    // A package's own node_modules holds dev-only or separately listed packages: each production one is copied on its own.
    await cp(src, join(options.stage, place), { recursive: true, filter: (p) => p !== nested && !p.startsWith(`${nested}${sep}`) });
  }
  try {
    await access(join(options.stage, SQLITE_BINDING));
  } catch {
    throw new Error(`${SQLITE_BINDING} is missing: build better-sqlite3 first (npm rebuild better-sqlite3); a release without it cannot run the controller`);
  }
  await mkdir(join(options.stage, 'bin'), { recursive: true });
  await writeFile(join(options.stage, 'bin', 'swarm-agent'), AGENT_ENTRY);
  await chmod(join(options.stage, 'bin', 'swarm-agent'), 0o755);
  // `created` only from SOURCE_DATE_EPOCH: a wall-clock time would make every build's bytes (and id) differ.
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const manifest = {
    name: pkg.name, version: pkg.version, entrypoint: ['bin/swarm-agent', 'run'], services: [],
    ...(epoch && /^\d+$/.test(epoch) ? { created: new Date(Number(epoch) * 1000).toISOString() } : {}),
  };
  await writeFile(join(options.stage, 'swarm-release.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { version: pkg.version, packages: places.length };
}

/** Stage in a temp dir, build `release/swarm-<version>.tar.gz` reproducibly, remove the stage; returns the id and file. */
export async function packageSwarm(root: string, dist: string, outDir = join(root, 'release')): Promise<{ id: string; file: string; bytes: number }> {
  const stage = await mkdtemp(join(tmpdir(), 'swarm-release-'));
  try {
    const { version } = await stageSwarmRelease({ root, dist, stage });
    await mkdir(outDir, { recursive: true });
    const file = join(outDir, `swarm-${version}.tar.gz`);
    const built = await buildReleaseToFile(stage, file, { version });
    return { id: built.id, file, bytes: built.bytes };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

// Run as a script (dist/scripts/release.js): the project root is the build output's parent.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const root = resolve(dist, '..');
  packageSwarm(root, dist).then((r) => {
    process.stdout.write(`built ${relative(process.cwd(), r.file) || r.file} (${r.bytes} bytes)\nid: ${r.id}\n`);
  }, (err: unknown) => {
    process.stderr.write(`npm run release: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
