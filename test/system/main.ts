// `npm run test:system`: Swarm under a real systemd. Three systemd-nspawn containers (a controller, two sensor hosts)
// booted from one debootstrap root, Swarm installed with deploy/install.sh, driven with swarmctl; see docs/system-test.md.
import { mkdir, readdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../scripts/ports.js';
import { Container, runHost } from './container.js';
import { Fleet, MOUNT, StepFailed, type FleetHost } from './fleet.js';
import { Report } from './report.js';
import { cgroup2Root, hostHasSystemd, inOwnCgroup, removeCgroup } from './cgroup.js';
import { copyRoot, ensureBaseRoot, ensureHostTools } from './root.js';
import { CHECKS, runScenario } from './scenario.js';

/** dist/test/system/main.js -> the project root. */
const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The whole run (root already built) ends within this, passed or not. */
const RUN_DEADLINE_MS = 20 * 60_000;

interface Options {
  keep: boolean;
  cache: string;
  results: string;
  tarball: string | undefined;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    keep: false,
    cache: process.env.SWARM_SYSTEM_TEST_CACHE ?? '/var/cache/swarm-system-test',
    results: join(PROJECT, 'system-test-results'),
    tarball: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return resolve(v);
    };
    if (a === '--keep') o.keep = true;
    else if (a === '--cache') o.cache = value();
    else if (a === '--results') o.results = value();
    else if (a === '--tarball') o.tarball = value();
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run test:system [-- --keep] [--cache DIR] [--results DIR] [--tarball FILE]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (see --help)`);
  }
  return o;
}

/** The newest release/swarm-*.tar.gz (`npm run release`, which test:system runs first). */
async function findTarball(): Promise<string> {
  const dir = join(PROJECT, 'release');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^swarm-.*\.tar\.gz$/.test(n));
  const dated = await Promise.all(names.map(async (n) => ({ n, t: (await stat(join(dir, n))).mtimeMs })));
  const newest = dated.sort((a, b) => b.t - a.t)[0];
  if (!newest) throw new Error(`no release/swarm-*.tar.gz in ${PROJECT}: run npm run release (npm run test:system does)`);
  return join(dir, newest.n);
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  if (process.platform !== 'linux' || process.getuid?.() !== 0) throw new Error('the system test needs Linux and root (debootstrap, systemd-nspawn)');
  await rm(options.results, { recursive: true, force: true });
  await mkdir(options.results, { recursive: true });
  const report = new Report(join(options.results, 'system-test.log'), join(options.results, 'full.log'), CHECKS);
  const tarball = options.tarball ?? await findTarball();
  const node = (await runHost('sh', ['-c', 'readlink -f "$(command -v node)"'])).stdout.trim() || process.execPath;
  report.say(`Swarm system test: ${tarball.slice(PROJECT.length + 1)} (${Math.round((await stat(tarball)).size / 1e6)} MB), node ${process.version} from ${node}, results in ${options.results}`);

  report.step('1. the Debian root and three containers (ctl, sensor-1, sensor-2) under systemd-nspawn --boot');
  await ensureHostTools((l) => report.say(l));
  const base = await ensureBaseRoot(options.cache, (l) => report.say(l));
  const runDir = join(options.cache, `run-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const ports = { controller: await freePort(), h: [{ updater: await freePort(), agent: await freePort() }, { updater: await freePort(), agent: await freePort() }] };
  report.say(`root ${base}; this run's copies in ${runDir}; loopback ports: controller ${ports.controller}, sensor-1 ${ports.h[0]!.updater}/${ports.h[0]!.agent}, sensor-2 ${ports.h[1]!.updater}/${ports.h[1]!.agent} (updater/agent)`);
  const names = ['ctl', 'sensor-1', 'sensor-2'];
  const t0 = Date.now();
  await mkdir(runDir, { recursive: true });
  await Promise.all(names.map((n) => copyRoot(base, join(runDir, n))));
  report.say(`copied the root three times in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // Each container's systemd gets a cgroup tree of its own (see cgroup.ts): a scope on a systemd host, else a
  // directory of the host's cgroup v2 tree.
  const cgroupBase = await hostHasSystemd() ? undefined : join(await cgroup2Root('/run/swarm-system-test/cgroup2'), 'swarm-system-test', basename(runDir));
  const boxes = await Promise.all(names.map(async (name) => {
    await mkdir(join(options.results, name), { recursive: true });
    return new Container({
      name, root: join(runDir, name),
      // The host's Node (>= 20.19; bookworm's nodejs is 18) where the units expect it; same glibc (Debian 12).
      bindRo: [[node, '/usr/bin/node'], [dirname(tarball), MOUNT.release], [join(PROJECT, 'deploy'), MOUNT.deploy]],
      bind: [[join(options.results, name), MOUNT.results]],
      // The agent's unit asks for CAP_NET_ADMIN, which nspawn keeps only with a private network.
      capabilities: name === 'ctl' ? [] : ['CAP_NET_ADMIN'],
      consoleLog: join(options.results, `${name}-console.log`),
      wrap: (argv) => inOwnCgroup(cgroupBase === undefined ? undefined : join(cgroupBase, name), argv),
    });
  }));
  const [ctl, ...hostBoxes] = boxes as [Container, Container, Container];
  const hosts: FleetHost[] = hostBoxes.map((box, i) => ({ name: box.name, box, ports: ports.h[i]! }));
  const fleet = new Fleet(report, ctl, hosts);

  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> => (stopping ??= (async () => {
    for (const box of boxes) {
      const j = await box.exec(['journalctl', '--no-pager', '-o', 'short-iso', '-u', 'swarm-*', '-u', 'polkit.service'], { timeoutMs: 30_000 }).catch(() => undefined);
      if (j) await writeFile(join(options.results, `${box.name}-journal.txt`), j.stdout + j.stderr);
    }
    await Promise.all(boxes.map((b) => b.stop()));
    if (cgroupBase !== undefined) {
      await removeCgroup(cgroupBase);
      await rmdir(dirname(cgroupBase)).catch(() => undefined);
    }
    if (!options.keep) await rm(runDir, { recursive: true, force: true });
    else report.say(`kept the containers' roots in ${runDir}`);
  })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      report.say(`interrupted (${signal}): stopping the containers`);
      void stopAll().finally(() => process.exit(130));
    });
  }

  let deadline: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => {
        await Promise.all(boxes.map((b) => b.boot()));
        for (const box of boxes) report.check('boot', true, `${box.name}: PID 1 is host pid ${box.initPid}, ${await box.waitBooted()}`);
        await runScenario(fleet, { tarball, controllerPort: ports.controller, roots: Object.fromEntries(names.map((n) => [n, join(runDir, n)])) });
      })(),
      new Promise<never>((_, reject) => {
        deadline = setTimeout(() => reject(new StepFailed(`the run took longer than ${RUN_DEADLINE_MS / 60_000} minutes`)), RUN_DEADLINE_MS);
      }),
    ]);
  } catch (err) {
    report.say(`STOPPED: ${err instanceof StepFailed ? err.message : (err as Error).stack ?? String(err)}`);
  } finally {
    clearTimeout(deadline);
    report.step('collecting journals, powering off');
    await stopAll();
  }
  const { failed, notRun } = report.summary();
  return failed + notRun === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`system test: ${(err as Error).message}\n`);
  process.exit(1);
});
