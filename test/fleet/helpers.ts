// A real fleet on loopback for the rollout tests: one controller process and N hosts (updater + agent processes).
//
// startFleet() runs `swarm-controller init` and `serve --heartbeat 1` on 127.0.0.1:0, then for each host
// `swarmctl host add hN --address 127.0.0.1:PORT`, `swarm-updater join --token-file -` (the token on stdin) and
// `swarm-updater run --restart spawn --controller URL` with its own install dir, PKI dir, updater and agent ports
// (freePort: below the ephemeral range) and a config with a short watch window. Releases are trees of the real
// swarm-agent of this build, made and stored with `swarmctl release build` and `release upload`; one variant's
// entrypoint exits at start when the host's install dir holds a FAIL_MARKER file, so one release fails on chosen
// hosts only. Rollouts and rollbacks go through swarmctl (--json); each updater's operation records are read with
// the controller's own identity from the state dir (GET /v1/operations). The controller can be SIGKILLed and
// restarted on the same state dir and port; a host's updater stopped and started again. Every wait is an awaited
// event or a bounded poll (pollUntil); close() stops every process it started (updaters stop their agents).
//
// With `controllers: N` and `store: postgres://...` (docs/high-availability.md) it runs N `serve --store` replicas
// on one database instead: `init --store` in the first state dir, then each other replica gets its own state dir
// holding a copy of the first one's pki/ and store.json, as the doc says. Every host joins and runs with all the
// replicas' URLs (`--controller` repeated, each host's list starting at another replica, so the channels spread),
// or those `hostControllers` names. `fleet.at(i)` is swarmctl and the API against replica i; `controllers[i]`
// signals it (SIGKILL, SIGSTOP/SIGCONT).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, copyFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { request, type Dispatcher } from 'undici';
import { buildDispatcher } from '../../shared/dispatcher.js';
import { buildReleaseToFile, signReleaseId } from '../../shared/release/index.js';
import { stopChild } from '../../shared/process-group.js';
import type { RolloutJson } from '../../shared/rollout-api.js';
import { loadTlsMaterial, type TlsMaterial } from '../../shared/tls.js';
import type { OperationRecord, UpdaterStatus } from '../../shared/wire.js';
import { clientFor, runBin, spawnServe, CONTROLLER_BIN, SWARMCTL_BIN, BUILD_ROOT, type RunResult } from '../controller/helpers.js';
import { tempDir } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { pollUntil } from '../helpers/wait.js';

const UPDATER_BIN = join(BUILD_ROOT, 'updater', 'main.js');
const AGENT_BIN = join(BUILD_ROOT, 'agent', 'main.js');
/** A file in a host's install dir that makes the `failOnMarker` release's agent exit at start on that host. */
export const FAIL_MARKER = 'fail-agent';

/** Deadlines of the test hosts: short, so a failing agent rolls back in about a second. */
export function hostConfig(overrides: { windowMs?: number; probeDeadlineMs?: number; signingPublicKeyPath?: string; selfUpdateDeadlineMs?: number } = {}): Record<string, unknown> {
  return {
    watch: { windowMs: overrides.windowMs ?? 1_000, intervalMs: 100, maxFailures: 3 },
    // Generous: a first install has no prev to fall back to, and an agent start on 2 loaded cores can take many seconds
    // (a failing agent exits at once, so no test waits for this deadline).
    probe: { deadlineMs: overrides.probeDeadlineMs ?? 45_000, intervalMs: 50, backoffMaxMs: 200, requestTimeoutMs: 2_000 },
    agent: { stopGraceMs: 2_000, restartBackoffMs: 100, restartBackoffMaxMs: 1_000 },
    ...(overrides.signingPublicKeyPath ? { signingPublicKeyPath: overrides.signingPublicKeyPath } : {}),
    ...(overrides.selfUpdateDeadlineMs ? { selfUpdate: { deadlineMs: overrides.selfUpdateDeadlineMs } } : {}),
  };
}

export interface FleetHost {
  name: string;
  dir: string;
  installDir: string;
  pkiDir: string;
  configFile: string;
  updaterPort: number;
  agentPort: number;
  /** The controller URLs it joined and runs with (`--controller` each), in its order. */
  controllers: string[];
  updater: ChildProcess | null;
  logs: string[];
}

export interface FleetRelease {
  id: string;
  version: string;
  file: string;
}

/** swarmctl and the API as the admin operator against one controller (the first, or one replica: `fleet.at(i)`). */
export interface FleetApi {
  url: string;
  /** swarmctl ARGS as the admin operator; killed after `timeoutMs` (default 60 s). */
  swarmctl(args: string[], timeoutMs?: number): Promise<RunResult>;
  /** swarmctl --json ARGS, parsed; throws with stderr unless the exit code is one of `codes` (default 0). */
  swarmctlJson<T>(args: string[], codes?: number[]): Promise<T>;
  /** GET PATH on the API as the operator (200 expected). */
  api<T>(path: string): Promise<T>;
  /** POST a body to PATH on the API as the operator (200 or 201 expected): the fleet's setup, without a swarmctl process per step. */
  post<T>(path: string, body: string | Buffer, headers: Record<string, string>): Promise<T>;
  /** `rollout start --json` (no --wait): the rollout as created. */
  startRollout(release: string, args: string[]): Promise<RolloutJson>;
  rollout(id: string): Promise<RolloutJson>;
  /** Poll `rollout status` until `check` holds (bounded). */
  awaitRollout(id: string, what: string, check: (r: RolloutJson) => boolean | Promise<boolean>, timeoutMs?: number): Promise<RolloutJson>;
}

/** One `serve` replica of a fleet on PostgreSQL (or the one controller). */
export interface FleetController {
  /** A, B, C, ... */
  name: string;
  stateDir: string;
  url: string;
  pid(): number | undefined;
  /** SIGKILL (waits for the exit: it stays dead), SIGSTOP, SIGCONT. */
  signal(signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): Promise<void>;
  logs(): string;
}

export interface Fleet extends FleetApi {
  root: string;
  stateDir: string;
  hosts: FleetHost[];
  controllers: FleetController[];
  /** swarmctl and the API against replica `index` (0 is what the fleet's own methods use). */
  at(index: number): FleetApi;
  host(name: string): FleetHost;
  /** Write a release tree of the real agent, build it with swarmctl and upload it. */
  release(version: string, options?: ReleaseOptions): Promise<FleetRelease>;
  /** Build and upload a release of the updater's own code: `good` runs this build's updater, `exit` fails to start. */
  updaterRelease(version: string, kind: 'good' | 'exit'): Promise<FleetRelease>;
  /** The updater's operation records, newest first (GET /v1/operations as the controller). */
  operations(name: string, query?: { release?: string; kind?: string; limit?: number }): Promise<OperationRecord[]>;
  updaterHealth(name: string): Promise<UpdaterStatus>;
  /** Install `release` on every host (rollout, canary 0, all in parallel) and wait for it to be done. */
  installEverywhere(release: FleetRelease): Promise<RolloutJson>;
  killController(): Promise<void>;
  restartController(): Promise<void>;
  stopUpdater(name: string): Promise<void>;
  startUpdater(name: string): Promise<void>;
  controllerLogs(): string;
  /** The pid of the running controller process (the rollout bench samples its memory). */
  controllerPid(): number | undefined;
  /** The controller's `/metrics` text, as the admin operator. */
  controllerMetrics(): Promise<string>;
  close(): Promise<void>;
}

export interface ReleaseOptions {
  /** The agent exits at start on hosts whose install dir holds FAIL_MARKER. */
  failOnMarker?: boolean;
  /** Incompressible filler, to make the tarball this big (a push that takes a while to stream). */
  padBytes?: number;
  /** `release build --sign-key FILE` (the .sig is uploaded with it). */
  signKey?: string;
  /** Distinguishes releases of the same version (different bytes). */
  tag?: string;
}

export interface FleetOptions {
  hosts?: number;
  /** Per-host updater config overrides (by index). */
  config?: (index: number) => Parameters<typeof hostConfig>[0];
  /** Address to register for a host instead of its updater's (a proxy in front of it). */
  address?: (index: number, updaterPort: number) => Promise<string> | string;
  /** Hosts enrolled and started at once (default: all); a big fleet on 2 cores starts in bounded rounds. */
  startConcurrency?: number;
  /** Run each updater as `run --supervise` (what self-update needs, and what the systemd unit does). */
  supervise?: boolean;
  /** Controller replicas (default 1); more than one needs `store`. */
  controllers?: number;
  /** `init/serve --store URL` (PostgreSQL), per replica when a function (each may name itself, e.g. application_name). */
  store?: string | ((replica: number) => string);
  /** The replicas (indexes) a host is given, in order; default all of them, host i's list starting at replica i mod N. */
  hostControllers?: (index: number, replicas: number) => number[];
}

function parseJson<T>(r: RunResult, what: string): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`${what}: no JSON on stdout (exit ${r.code}): ${r.stderr}${r.stdout}`);
  }
}

/** Spawn `swarm-updater run` for a host and wait (bounded) for its listening line. */
async function spawnUpdater(h: FleetHost, supervise = false): Promise<ChildProcess> {
  const args = [UPDATER_BIN, 'run', '--install-dir', h.installDir, '--pki-dir', h.pkiDir, '--listen', `127.0.0.1:${h.updaterPort}`,
    '--agent-port', String(h.agentPort), '--restart', 'spawn', ...h.controllers.flatMap((u) => ['--controller', u]), '--config', h.configFile, ...(supervise ? ['--supervise'] : [])];
  const child = spawn(process.execPath, args, { env: { ...process.env, SWARM_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const listening = new Promise<void>((resolve, reject) => {
    // Killed on timeout too: nobody else holds this child yet, and a fleet that failed to start must leave nothing behind.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`updater of ${h.name} did not listen within 60 s:\n${h.logs.slice(-20).join('\n')}`));
    }, 60_000);
    createInterface({ input: child.stderr!, crlfDelay: Infinity }).on('line', (line) => {
      h.logs.push(line);
      if (h.logs.length > 2_000) h.logs.splice(0, 1_000);
      if (process.env.FLEET_DEBUG) process.stderr.write(`[${h.name}] ${line}\n`);
      if (line.includes('"msg":"updater listening"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`updater of ${h.name} exited (${code ?? signal}) before listening:\n${h.logs.slice(-20).join('\n')}`));
    });
  });
  await listening;
  return child;
}


/** Kill an agent left behind by an updater that did not stop it (SIGKILLed): tests clean up after themselves. */
async function killStaleAgent(h: FleetHost): Promise<void> {
  try {
    const { pid } = JSON.parse(await readFile(join(h.installDir, 'state', 'agent.pid'), 'utf8')) as { pid: number };
    process.kill(-pid, 'SIGKILL');
  } catch {
    // none
  }
}

export async function startFleet(options: FleetOptions = {}): Promise<Fleet> {
  const count = options.hosts ?? 5;
  const t0 = performance.now();
  const lap = (m: string): void => { if (process.env.FLEET_DEBUG) process.stderr.write(`[fleet] ${m} at ${Math.round(performance.now() - t0)} ms\n`); };
  const replicas = options.controllers ?? 1;
  const storeOf = (i: number): string | undefined => (typeof options.store === 'function' ? options.store(i) : options.store);
  if (replicas > 1 && !options.store) throw new Error('startFleet: several controllers share a PostgreSQL database: pass store');
  const t = await tempDir('swarm-fleet-');
  const root = t.path;
  const stateDir = join(root, 'controller');
  const adminDir = join(stateDir, 'operators', 'admin');
  const storeArgs = (i: number): string[] => { const url = storeOf(i); return url ? ['--store', url] : []; };
  const init = await runBin(CONTROLLER_BIN, ['init', '--state-dir', stateDir, '--cluster', 'fleet', '--san', '127.0.0.1', ...storeArgs(0)]);
  if (init.code !== 0) throw new Error(`controller init failed: ${init.stderr}`);
  // Every other replica: its own state dir with the first one's PKI and store.json (docs/high-availability.md).
  const stateDirs = [stateDir];
  for (let i = 1; i < replicas; i++) {
    const dir = join(root, `controller-${String.fromCharCode(97 + i)}`);
    await mkdir(dir, { mode: 0o700 });
    await cp(join(stateDir, 'pki'), join(dir, 'pki'), { recursive: true, preserveTimestamps: true });
    await copyFile(join(stateDir, 'store.json'), join(dir, 'store.json'));
    stateDirs.push(dir);
  }
  // A short heartbeat makes channels (and so online state) quick; the offline timeout outlasts a controller restart,
  // as the default does in production, so reconnecting updaters are not taken for unreachable ones.
  const serveArgs = (i: number): string[] => ['--heartbeat', '1', '--offline-timeout', '30', ...storeArgs(i)];
  lap('init');
  type Serve = Awaited<ReturnType<typeof spawnServe>>;
  const serves: Serve[] = [];
  const serveLogs: string[] = [];
  // init migrated the database: the replicas start together.
  const spawned = await Promise.allSettled(stateDirs.map((dir, i) => spawnServe(dir, serveArgs(i))));
  for (const r of spawned) {
    if (r.status === 'fulfilled') serves.push(r.value);
    serveLogs.push('');
  }
  const failedServe = spawned.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failedServe) {
    for (const s of serves) await stopChild(s.child);
    await t.cleanup();
    throw failedServe.reason;
  }
  lap('serve');
  const urls = serves.map((s) => s.url);
  const url = urls[0]!;
  const port = Number(new URL(url).port);
  const material: TlsMaterial = await loadTlsMaterial(join(stateDir, 'pki'), 'controller');
  // Polls go straight to the API as the operator: a swarmctl process per poll would load the 2 shared cores.
  const admin = await loadTlsMaterial(adminDir, 'operator');
  const operator = clientFor(admin.ca, admin, 'fleet');
  const apiAt = (target: string): FleetApi => {
    const env = (): Record<string, string> => ({ SWARMCTL_CONTROLLER: target, SWARMCTL_IDENTITY: adminDir, NO_COLOR: '1' });
    const swarmctl = (args: string[], timeoutMs = 60_000): Promise<RunResult> => runBin(SWARMCTL_BIN, args, env(), timeoutMs);
    const swarmctlJson = async <T>(args: string[], codes = [0]): Promise<T> => {
      const r = await swarmctl(['--json', ...args]);
      if (!codes.includes(r.code)) throw new Error(`swarmctl ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
      return parseJson<T>(r, `swarmctl ${args.join(' ')}`);
    };
    const api = async <T>(path: string): Promise<T> => {
      const res = await request(`${target}${path}`, { dispatcher: operator, signal: AbortSignal.timeout(15_000) });
      const body = await res.body.json();
      if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode} ${JSON.stringify(body)}`);
      return body as T;
    };
    const post = async <T>(path: string, body: string | Buffer, headers: Record<string, string>): Promise<T> => {
      const res = await request(`${target}${path}`, { method: 'POST', dispatcher: operator, headers, body, signal: AbortSignal.timeout(60_000) });
      const answer = await res.body.json();
      if (res.statusCode !== 200 && res.statusCode !== 201) throw new Error(`POST ${path}: ${res.statusCode} ${JSON.stringify(answer)}`);
      return answer as T;
    };
    return {
      url: target, swarmctl, swarmctlJson, api, post,
      startRollout: (release, args) => swarmctlJson<RolloutJson>(['rollout', 'start', release, ...args]),
      rollout: (id) => swarmctlJson<RolloutJson>(['rollout', 'status', id]),
      awaitRollout(id, what, check, timeoutMs = 90_000) {
        // Reads through the API (not swarmctl) for a tight poll: the same document `rollout status --json` prints.
        let last: RolloutJson | undefined;
        return pollUntil(what, async () => {
          const r = await api<RolloutJson>(`/v1/rollouts/${encodeURIComponent(id)}`);
          last = r;
          return (await check(r)) ? r : undefined;
        }, { timeoutMs, everyMs: 100, retryErrors: true }).catch((err: Error) => {
          // A timeout names where the rollout stood: its state, each host's, and its last events.
          const failed = last?.hosts.filter((h) => h.error).map((h) => `${h.name} ${h.error!.code}: ${h.error!.message}${h.error!.detail ? ` (${h.error!.detail})` : ''}`) ?? [];
          const seen = last ? ` (rollout ${last.state}${last.reason ? ` ${last.reason}` : ''}; ${last.hosts.map((h) => `${h.name}:${h.state}`).join(' ')}; ${failed.length > 0 ? `errors: ${failed.join(' | ')}; ` : ''}last events: ${last.events.slice(-5).map((e) => e.message).join(' | ')})` : '';
          throw new Error(`${err.message}${seen}`);
        });
      },
    };
  };
  const apis = urls.map(apiAt);
  const { api, post } = apis[0]!;
  const controllers: FleetController[] = serves.map((_, i) => ({
    name: String.fromCharCode(65 + i),
    stateDir: stateDirs[i]!,
    url: urls[i]!,
    pid: () => serves[i]!.child.pid,
    async signal(signal) {
      const child = serves[i]!.child;
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (signal === 'SIGKILL') {
        // A stopped process dies of SIGKILL too; wait for it, so that nothing of it is left when this resolves.
        await stopChild(child, { signal: 'SIGKILL' });
        return;
      }
      child.kill(signal);
    },
    logs: () => serveLogs[i]! + serves[i]!.logs(),
  }));
  const dispatchers = new Map<string, Dispatcher>();
  const dispatcherFor = (name: string): Dispatcher => {
    let d = dispatchers.get(name);
    if (!d) dispatchers.set(name, (d = buildDispatcher(material, { expect: { role: 'updater', name } })));
    return d;
  };

  /**
   * What `swarmctl release build [--sign-key]` and `release upload` do, in this process (the fleet tests are about
   * rollouts; swarmctl's own build and upload are tested against a controller process in test/cli).
   */
  const buildAndUpload = async (src: string, version: string, file: string, signKey?: string): Promise<FleetRelease> => {
    const built = await buildReleaseToFile(src, file, { version });
    const signature = signKey ? signReleaseId(built.id, await readFile(signKey, 'utf8')) : undefined;
    const up = await post<{ id: string }>('/v1/releases', await readFile(file), {
      'content-type': 'application/gzip', 'x-swarm-release-sha256': built.id, ...(signature ? { 'x-swarm-release-signature': signature } : {}),
    });
    if (up.id !== built.id) throw new Error(`uploaded ${up.id}, built ${built.id}`);
    return { id: built.id, version, file };
  };

  const hosts: FleetHost[] = [];
  const fleet: Fleet = {
    ...apis[0]!,
    root, stateDir, hosts, controllers,
    at(index) {
      const a = apis[index];
      if (!a) throw new Error(`no controller ${index}`);
      return a;
    },
    host(name) {
      const h = hosts.find((x) => x.name === name);
      if (!h) throw new Error(`no host ${name}`);
      return h;
    },
    async release(version, o = {}) {
      const src = join(root, 'src', `${version}${o.tag ? `-${o.tag}` : ''}`);
      await mkdir(join(src, 'bin'), { recursive: true });
      const manifest = { name: 'fleet-agent', version, entrypoint: ['bin/swarm-agent', 'run'], services: [], created: '2026-01-01T00:00:00Z' };
      await writeFile(join(src, 'swarm-release.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      // The agent's cwd is its release dir, <install-dir>/releases/<dir>: the marker is two levels up.
      const guard = o.failOnMarker ? `if [ -e "../../${FAIL_MARKER}" ]; then echo "sensor: capture device missing on this host" >&2; exit 3; fi\n` : '';
      await writeFile(join(src, 'bin', 'swarm-agent'), `#!/bin/sh\n${guard}exec "${process.execPath}" "${AGENT_BIN}" "$@"\n`);
      await chmod(join(src, 'bin', 'swarm-agent'), 0o755);
      await writeFile(join(src, 'tag.txt'), `${version} ${o.tag ?? ''}\n`);
      if (o.padBytes) {
        const { randomBytes } = await import('node:crypto');
        await writeFile(join(src, 'pad.bin'), randomBytes(o.padBytes));
      }
      const file = join(root, 'src', `${version}${o.tag ? `-${o.tag}` : ''}.tar.gz`);
      return buildAndUpload(src, version, file, o.signKey);
    },
    async updaterRelease(version, kind) {
      const src = join(root, 'src', `updater-${version}`);
      await mkdir(join(src, 'bin'), { recursive: true });
      const manifest = { name: 'swarm-updater', version, entrypoint: ['bin/swarm-updater'], services: [], created: '2026-01-01T00:00:00Z' };
      await writeFile(join(src, 'swarm-release.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      const script = kind === 'good' ? `#!/bin/sh\nexec "${process.execPath}" "${UPDATER_BIN}" "$@"\n` : '#!/bin/sh\necho "updater: broken build" >&2\nexit 1\n';
      await writeFile(join(src, 'bin', 'swarm-updater'), script);
      await chmod(join(src, 'bin', 'swarm-updater'), 0o755);
      return buildAndUpload(src, version, join(root, 'src', `updater-${version}.tar.gz`));
    },
    async operations(name, query = {}) {
      const h = fleet.host(name);
      const qs = new URLSearchParams({ limit: String(query.limit ?? 50), ...(query.release ? { release: query.release } : {}), ...(query.kind ? { kind: query.kind } : {}) });
      const res = await request(`https://127.0.0.1:${h.updaterPort}/v1/operations?${qs}`, { dispatcher: dispatcherFor(name), signal: AbortSignal.timeout(15_000) });
      const body = await res.body.json();
      if (res.statusCode !== 200) throw new Error(`GET /v1/operations of ${name}: ${res.statusCode} ${JSON.stringify(body)}`);
      return body as OperationRecord[];
    },
    async updaterHealth(name) {
      const h = fleet.host(name);
      const res = await request(`https://127.0.0.1:${h.updaterPort}/v1/health`, { dispatcher: dispatcherFor(name), signal: AbortSignal.timeout(15_000) });
      return (await res.body.json()) as UpdaterStatus;
    },
    async installEverywhere(release) {
      const r = await fleet.startRollout(release.id, ['--all', '--canary', '0', '--batch', '100%', '--max-parallel', String(hosts.length)]);
      return fleet.awaitRollout(r.id, `${release.version} installed everywhere`, (x) => x.state === 'done' && x.hosts.every((h) => h.state === 'succeeded' || h.state === 'skipped'), 120_000);
    },
    async killController() {
      serveLogs[0] += serves[0]!.logs();
      await stopChild(serves[0]!.child, { signal: 'SIGKILL' });
    },
    async restartController() {
      serves[0] = await spawnServe(stateDir, serveArgs(0), `127.0.0.1:${port}`);
    },
    async stopUpdater(name) {
      const h = fleet.host(name);
      await stopChild(h.updater);
      h.updater = null;
    },
    async startUpdater(name) {
      const h = fleet.host(name);
      h.updater = await spawnUpdater(h, options.supervise);
    },
    controllerLogs: () => controllers[0]!.logs(),
    controllerPid: () => serves[0]!.child.pid,
    async controllerMetrics() {
      const res = await request(`${url}/metrics`, { dispatcher: operator, signal: AbortSignal.timeout(15_000) });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`GET /metrics: ${res.statusCode} ${text}`);
      return text;
    },
    async close() {
      await Promise.all(hosts.map(async (h) => {
        await stopChild(h.updater);
        await killStaleAgent(h);
      }));
      await Promise.all(serves.map(async (s) => {
        // A frozen replica (SIGSTOP) would not act on SIGTERM.
        if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGCONT');
        await stopChild(s.child);
      }));
      await Promise.all([...dispatchers.values(), operator].map((d) => d.close()));
      await t.cleanup();
    },
  };

  try {
    for (let i = 0; i < count; i++) {
      const name = `h${i + 1}`;
      const dir = join(root, name);
      const h: FleetHost = { name, dir, installDir: join(dir, 'opt'), pkiDir: join(dir, 'pki'), configFile: join(dir, 'updater.json'),
        updaterPort: await freePort(), agentPort: await freePort(), updater: null, logs: [],
        controllers: (options.hostControllers?.(i, replicas) ?? Array.from({ length: replicas }, (_, k) => (i + k) % replicas)).map((k) => urls[k]!) };
      await mkdir(h.installDir, { recursive: true });
      await writeFile(h.configFile, JSON.stringify(hostConfig(options.config?.(i))));
      hosts.push(h);
    }
    // Enroll and start the hosts in parallel: each is its own machine. All settle before a failure is thrown, so
    // close() (below) sees every updater that did start and none is started after it.
    const startHost = async (h: FleetHost, i: number): Promise<void> => {
      const address = options.address ? await options.address(i, h.updaterPort) : `127.0.0.1:${h.updaterPort}`;
      const added = await post<{ token: string; caHash: string }>('/v1/hosts', JSON.stringify({ name: h.name, address }), { 'content-type': 'application/json' });
      lap(`${h.name} added`);
      // Dozens of hosts joining from one address meet the controller's enrollment rate limit: wait as told, a few times.
      for (let attempt = 1; ; attempt++) {
        const join_ = spawn(process.execPath, [UPDATER_BIN, 'join', ...h.controllers.flatMap((u) => ['--controller', u]), '--token-file', '-', '--ca-hash', added.caHash, '--pki-dir', h.pkiDir],
          { env: { ...process.env, SWARM_LOG_LEVEL: 'warn' }, stdio: ['pipe', 'pipe', 'pipe'] });
        let err = '';
        join_.stderr.on('data', (d: Buffer) => (err += d.toString()));
        join_.stdout.resume();
        join_.stdin.end(`${added.token}\n`);
        const timer = setTimeout(() => join_.kill('SIGKILL'), 30_000);
        const [code] = (await once(join_, 'close')) as [number | null];
        clearTimeout(timer);
        if (code === 0) break;
        const retryS = /SWARM_ERR_RATE_LIMITED/.test(err) ? Number(/retry in (\d+) second/.exec(err)?.[1] ?? 5) : NaN;
        if (attempt >= 5 || !(retryS <= 60)) throw new Error(`join of ${h.name} failed (${code}): ${err}`);
        await new Promise((r) => setTimeout(r, retryS * 1_000 + 200));
      }
      lap(`${h.name} joined`);
      h.updater = await spawnUpdater(h, options.supervise);
      lap(`${h.name} listening`);
    };
    const queue = hosts.map((h, i) => [h, i] as const);
    const starts = await Promise.allSettled(Array.from({ length: Math.min(count, options.startConcurrency ?? count) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await startHost(...next);
    }));
    const failed = starts.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw failed.reason;
    // Online means the updater's channel is up: rollouts mark offline hosts unreachable.
    await pollUntil('every updater online', async () => {
      const list = await api<Array<{ name: string; channels: { updater: boolean } }>>('/v1/hosts');
      return list.length === count && list.every((x) => x.channels.updater) ? true : undefined;
    }, { timeoutMs: 30_000, everyMs: 200, retryErrors: true });
    lap('online');
  } catch (err) {
    await fleet.close().catch(() => undefined);
    throw err;
  }
  return fleet;
}

/** Update records of one release on a host (what a push leaves). */
export async function updateRecords(fleet: Fleet, name: string, release: string): Promise<OperationRecord[]> {
  return fleet.operations(name, { release, kind: 'update' });
}

/** A loopback TCP proxy to one updater that cuts the next `cuts` connections once `afterBytes` went upstream. */
export async function startCuttingProxy(targetPort: number, afterBytes: number): Promise<{ port: number; cuts: number; cut: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = { port: 0, cuts: 0, cut: 0, close: async () => undefined as void };
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let sent = 0;
    const destroy = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (state.cuts > 0 && sent > afterBytes) {
        state.cuts--;
        state.cut++;
        destroy();
        return;
      }
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', destroy).on('error', destroy);
    upstream.on('close', destroy).on('error', destroy);
    client.on('end', () => upstream.end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  state.port = (server.address() as { port: number }).port;
  state.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return state;
}


/**
 * That something does NOT happen: `check` must keep returning true for `forMs` (bounded). Only for absences (no
 * push while paused), which no event can announce; what can be awaited is awaited.
 */
export async function assertHolds(what: string, check: () => Promise<boolean>, forMs: number): Promise<void> {
  const end = performance.now() + forMs;
  for (let i = 0; i < 1_000 && performance.now() < end; i++) {
    if (!(await check())) throw new Error(`no longer true: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!(await check())) throw new Error(`no longer true: ${what}`);
}
