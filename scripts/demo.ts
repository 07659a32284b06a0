// `npm run demo`: a local fleet on loopback (spawn mode) that enrolls, updates, rolls back by itself, and rolls back on command.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { request, type Dispatcher } from 'undici';
import { buildRelease } from '../shared/release/index.js';
import { loadTlsMaterial, type TlsMaterial } from '../shared/tls.js';
import { buildDispatcher } from '../shared/dispatcher.js';

const BUILD_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = {
  controller: join(BUILD_ROOT, 'controller', 'main.js'),
  updater: join(BUILD_ROOT, 'updater', 'main.js'),
  agent: join(BUILD_ROOT, 'agent', 'main.js'),
  swarmctl: join(BUILD_ROOT, 'cli', 'main.js'),
};
const HOSTS = ['sensor-1', 'sensor-2', 'sensor-3'];
const CHILD_ENV = { ...process.env, SWARM_LOG_LEVEL: process.env.SWARM_LOG_LEVEL ?? 'info' };

const children: ChildProcess[] = [];

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function step(title: string): void {
  say(`\n== ${title}`);
}

/** Run a bin to completion (bounded); throws with its stderr when it fails. */
async function run(bin: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const child = spawn(process.execPath, [bin, ...args], { env: CHILD_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${bin.split('/').slice(-2).join('/')} ${args.join(' ')} failed (${code}): ${err.trim()}`);
  return out;
}

/** Start a long-running bin; its stderr (pino logs) goes to a file-like buffer shown on failure. */
function start(bin: string, args: string[]): { child: ChildProcess; logs: () => string } {
  const child = spawn(process.execPath, [bin, ...args], { env: CHILD_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let logs = '';
  child.stderr!.on('data', (d: Buffer) => (logs = (logs + d.toString()).slice(-20_000)));
  return { child, logs: () => logs };
}

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

/** Wait (bounded) for output matching re on a child's stdout (or stderr, where pino logs go). */
async function waitForLine(child: ChildProcess, re: RegExp, what: string, stream: 'stdout' | 'stderr' = 'stdout', timeoutMs = 30_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs / 1000} s`)), timeoutMs);
    child[stream]!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}`));
    });
  });
}

/** Poll (bounded) until check() is true. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A release of the Swarm agent from this build, with one sensor service; `crash` makes the sensor die at start. */
async function makeRelease(root: string, version: string, crash: boolean): Promise<{ tarball: Buffer; id: string }> {
  const dir = join(root, `src-${version}`);
  await mkdir(join(dir, 'bin'), { recursive: true });
  const manifest = {
    name: 'swarm-agent',
    version,
    entrypoint: ['bin/swarm-agent', 'run'],
    services: [{ name: 'sensor', command: ['bin/sensor'], restart: 'always', required: true }],
  };
  await writeFile(join(dir, 'swarm-release.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(join(dir, 'bin', 'swarm-agent'), `#!/bin/sh\nexec "${process.execPath}" "${BIN.agent}" "$@"\n`);
  const sensor = crash
    ? '#!/bin/sh\necho "sensor: cannot open capture device" >&2\nexit 1\n'
    : `#!/bin/sh\nwhile true; do echo "sensor ${version}: capturing"; sleep 5; done\n`;
  await writeFile(join(dir, 'bin', 'sensor'), sensor);
  await chmod(join(dir, 'bin', 'swarm-agent'), 0o755);
  await chmod(join(dir, 'bin', 'sensor'), 0o755);
  return buildRelease(dir, {});
}

interface Host {
  name: string;
  updaterUrl: string;
  dispatcher: Dispatcher;
}

/** POST the release to one updater as the controller would; resolves with the status and the operation's state. */
async function pushRelease(host: Host, release: { tarball: Buffer; id: string }): Promise<{ status: number; state: string; ms: number }> {
  const t = performance.now();
  const res = await request(`${host.updaterUrl}/v1/update`, {
    method: 'POST',
    dispatcher: host.dispatcher,
    headers: { 'content-type': 'application/gzip', 'x-swarm-release-sha256': release.id },
    body: release.tarball,
    headersTimeout: 300_000,
    bodyTimeout: 300_000,
  });
  const body = (await res.body.json()) as { state?: string; code?: string; message?: string };
  return { status: res.statusCode, state: body.state ?? `${body.code}: ${body.message}`, ms: Math.round(performance.now() - t) };
}

async function rollbackHost(host: Host): Promise<{ status: number; state: string; ms: number }> {
  const t = performance.now();
  const res = await request(`${host.updaterUrl}/v1/rollback`, { method: 'POST', dispatcher: host.dispatcher, headersTimeout: 120_000, bodyTimeout: 120_000 });
  const body = (await res.body.json()) as { state?: string; code?: string; message?: string };
  return { status: res.statusCode, state: body.state ?? `${body.code}: ${body.message}`, ms: Math.round(performance.now() - t) };
}

async function hostTable(swarmctl: string[]): Promise<void> {
  say((await run(BIN.swarmctl, [...swarmctl, 'host', 'list'])).trimEnd());
}

async function hostList(swarmctl: string[]): Promise<Array<{ name: string; online: boolean; version: string | null; release: string | null }>> {
  return JSON.parse(await run(BIN.swarmctl, [...swarmctl, '--json', 'host', 'list'])) as Array<{ name: string; online: boolean; version: string | null; release: string | null }>;
}

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  const root = await mkdtemp(join(tmpdir(), 'swarm-demo-'));
  say(`Swarm demo: a controller and ${HOSTS.length} sensor hosts on loopback, in ${root}`);
  try {
    step('1. controller: init (CA, controller identity, operator "admin") and serve');
    const stateDir = join(root, 'controller');
    await run(BIN.controller, ['init', '--state-dir', stateDir, '--cluster', 'demo', '--san', '127.0.0.1']);
    const ctl = start(BIN.controller, ['serve', '--state-dir', stateDir, '--listen', '127.0.0.1:0', '--heartbeat', '2']);
    const controllerUrl = (await waitForLine(ctl.child, /listening (https:\/\/\S+)/, 'the controller'))[1]!;
    const swarmctl = ['--controller', controllerUrl, '--identity', join(stateDir, 'operators', 'admin')];
    say(`controller listening on ${controllerUrl}`);

    step('2. enroll: swarmctl host add, then swarm-updater join on each host (keys never leave the host)');
    const hosts: Host[] = [];
    const controllerIdentity: TlsMaterial = await loadTlsMaterial(join(stateDir, 'pki'), 'controller');
    for (const name of HOSTS) {
      const updaterPort = await freePort();
      const agentPort = await freePort();
      const added = JSON.parse(await run(BIN.swarmctl, [...swarmctl, '--json', 'host', 'add', name, '--address', `127.0.0.1:${updaterPort}`, '--label', 'site=lab'])) as {
        token: string;
        caHash: string;
      };
      const hostDir = join(root, name);
      const pkiDir = join(hostDir, 'pki');
      // The token in a private file, not on the command line (every local user can read that).
      const tokenFile = join(root, `${name}.token`);
      await writeFile(tokenFile, added.token, { mode: 0o600 });
      await run(BIN.updater, ['join', '--controller', controllerUrl, '--token-file', tokenFile, '--ca-hash', added.caHash, '--pki-dir', pkiDir]);
      const config = join(hostDir, 'updater.json');
      await writeFile(config, JSON.stringify({ watch: { windowMs: 3000, intervalMs: 500, maxFailures: 2 }, probe: { deadlineMs: 20_000 }, agent: { stopGraceMs: 3000 } }));
      const updater = start(BIN.updater, [
        'run', '--install-dir', join(hostDir, 'opt'), '--pki-dir', pkiDir, '--listen', `127.0.0.1:${updaterPort}`,
        '--agent-port', String(agentPort), '--restart', 'spawn', '--controller', controllerUrl, '--config', config,
      ]);
      updater.child.stdout!.resume();
      await waitForLine(updater.child, /"msg":"updater listening"/, `the updater of ${name}`, 'stderr');
      hosts.push({
        name,
        updaterUrl: `https://127.0.0.1:${updaterPort}`,
        dispatcher: buildDispatcher(controllerIdentity, { expect: { role: 'updater', name } }),
      });
      say(`${name}: enrolled (token bound to ${name}, CA pinned by ${added.caHash.slice(0, 19)}...), updater on 127.0.0.1:${updaterPort}`);
    }

    step('3. build releases of the agent (reproducible tarballs; id = sha256 of the bytes)');
    const v1 = await makeRelease(root, '1.0.0', false);
    const v2 = await makeRelease(root, '1.1.0', false);
    const bad = await makeRelease(root, '1.2.0', true);
    for (const [v, r] of [['1.0.0', v1], ['1.1.0', v2], ['1.2.0 (its sensor crashes)', bad]] as const) say(`${v.padEnd(28)} ${r.id}`);

    for (const [label, release] of [['install 1.0.0', v1], ['update to 1.1.0', v2]] as const) {
      step(`4. ${label} on every host (stream, verify, switch, restart, probe, watch, commit)`);
      const results = await Promise.all(hosts.map((h) => pushRelease(h, release)));
      hosts.forEach((h, i) => say(`${h.name}: HTTP ${results[i]!.status} ${results[i]!.state} in ${results[i]!.ms} ms`));
      if (results.some((r) => r.status !== 200)) throw new Error(`${label} did not commit everywhere`);
    }
    await until(async () => (await hostList(swarmctl)).every((h) => h.version === '1.1.0'), 'the fleet to report 1.1.0');
    await hostTable(swarmctl);

    step('5. push a bad release: each updater sees the agent fail and rolls back by itself');
    const badResults = await Promise.all(hosts.map((h) => pushRelease(h, bad)));
    hosts.forEach((h, i) => say(`${h.name}: HTTP ${badResults[i]!.status} ${badResults[i]!.state} in ${badResults[i]!.ms} ms`));
    if (badResults.some((r) => r.state !== 'rolled-back')) throw new Error('the bad release was not rolled back everywhere');
    await until(async () => (await hostList(swarmctl)).every((h) => h.version === '1.1.0' && h.online), 'the fleet to report 1.1.0 again');
    await hostTable(swarmctl);

    step('6. incident: roll the whole fleet back to its previous release, in parallel');
    const t = performance.now();
    const rb = await Promise.all(hosts.map((h) => rollbackHost(h)));
    const fleetMs = Math.round(performance.now() - t);
    hosts.forEach((h, i) => say(`${h.name}: HTTP ${rb[i]!.status} ${rb[i]!.state} in ${rb[i]!.ms} ms`));
    say(`fleet rollback: ${hosts.length} hosts in ${fleetMs} ms`);
    await until(async () => (await hostList(swarmctl)).every((h) => h.version === '1.0.0' && h.online), 'the fleet to report 1.0.0');
    await hostTable(swarmctl);

    step('7. fleet status and the audit log');
    say((await run(BIN.swarmctl, [...swarmctl, 'status'])).trimEnd());
    await Promise.all(hosts.map((h) => h.dispatcher.close()));
    say('\nDemo complete: enrolled, updated, rolled back by itself, rolled back on command.');
  } finally {
    await stopAll();
    if (keep) say(`kept ${root}`);
    else await rm(root, { recursive: true, force: true });
  }
}

/** SIGTERM every child (updaters stop their agents), SIGKILL after 10 s. */
async function stopAll(): Promise<void> {
  await Promise.all(
    children.reverse().map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    process.stderr.write(`demo failed: ${(err as Error).message}\n`);
    await stopAll();
    process.exit(1);
  },
);
