// `npm run demo`: a local fleet on loopback (spawn mode) driven through swarmctl: enroll, release, roll out, canary, roll back.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTROLLER_RUNTIME } from '../shared/defaults.js';
import type { RolloutJson } from '../shared/rollout-api.js';
import type { HostView } from '../shared/operator-api.js';
import { stopChild } from '../shared/process-group.js';
import { painter } from '../shared/terminal.js';
import { freePort } from './ports.js';

const BUILD_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN: Record<string, string> = {
  'swarm-controller': join(BUILD_ROOT, 'controller', 'main.js'),
  'swarm-updater': join(BUILD_ROOT, 'updater', 'main.js'),
  swarmctl: join(BUILD_ROOT, 'cli', 'main.js'),
};
const AGENT_BIN = join(BUILD_ROOT, 'agent', 'main.js');
const HOSTS = ['sensor-1', 'sensor-2', 'sensor-3'];
/** One command of the demo may take this long; the whole demo is meant to end within two minutes. */
const COMMAND_TIMEOUT_MS = 90_000;
/** Short deadlines on the demo hosts, so a failing agent is rolled back in seconds (production: a 30 s window). */
const HOST_CONFIG = {
  watch: { windowMs: 2_000, intervalMs: 200, maxFailures: 3 },
  probe: { deadlineMs: 15_000, intervalMs: 100, backoffMaxMs: 300, requestTimeoutMs: 2_000 },
  agent: { stopGraceMs: 2_000, restartBackoffMs: 200, restartBackoffMaxMs: 1_000 },
};

const paint = painter(process.stdout);
const children = new Set<ChildProcess>();
const installDirs: string[] = [];
/** The last lines of each daemon's output (pino logs; the agent's too), shown when a step fails. */
const daemonLogs = new Map<string, () => string>();
let root = '';
let env: NodeJS.ProcessEnv = { ...process.env, SWARM_LOG_LEVEL: process.env.SWARM_LOG_LEVEL ?? 'warn', NO_COLOR: '1' };
let stepName = 'setup';

class StepFailed extends Error {}

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function step(title: string): void {
  stepName = title;
  say(`\n${paint('bold', `== ${title}`)}`);
}

/** The command as a person types it, and one line on why. */
function show(command: string, why: string): void {
  say(`${paint('dim', '#')} ${why}`);
  say(`$ ${command}`);
}

function indent(text: string): void {
  for (const line of text.trimEnd().split('\n')) if (line !== '') say(`    ${line}`);
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new StepFailed(what);
  say(`${paint('green', 'ok')} ${what}`);
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run one of our programs to completion, bounded; stdin is written and closed when given. */
async function run(program: string, args: string[], stdin?: string): Promise<RunResult> {
  const child = spawn(process.execPath, [BIN[program]!, ...args], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  children.delete(child);
  return { code, stdout, stderr };
}

/** Show a command, run it, show its output indented; throws unless it exits with `expect`. */
async function shown(program: string, args: string[], why: string, options: { expect?: number; stdin?: string; display?: string } = {}): Promise<RunResult> {
  show(options.display ?? [program, ...args].join(' '), why);
  const r = await run(program, args, options.stdin);
  indent(r.stdout);
  indent(r.stderr);
  const expect = options.expect ?? 0;
  if (r.code !== expect) throw new StepFailed(`${program} ${args[0]} ${args[1] ?? ''} exited ${r.code}, expected ${expect}`);
  return r;
}

/** `swarmctl --json ARGS`, parsed: how the demo checks what each step did (not shown). */
async function json<T>(args: string[]): Promise<T> {
  const r = await run('swarmctl', ['--json', ...args]);
  if (r.code !== 0) throw new StepFailed(`swarmctl --json ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as T;
}

/** Poll (bounded in count and time) until `test` holds. */
async function until(what: string, test: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 200 && Date.now() < deadline; i++) {
    if (await test().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new StepFailed(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

/** A long-running program; resolves when a stderr (pino) or stdout line matches `ready`, bounded. */
async function startDaemon(program: string, args: string[], ready: RegExp, what: string): Promise<RegExpExecArray> {
  // The controller runs as its unit runs it (shared/defaults.ts CONTROLLER_RUNTIME).
  const runtime = program === 'swarm-controller' ? CONTROLLER_RUNTIME : { nodeFlags: [], env: {} };
  const child = spawn(process.execPath, [...runtime.nodeFlags, BIN[program]!, ...args], { cwd: root, env: { ...env, ...runtime.env, SWARM_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let seen = '';
  let tail = '';
  let started = false;
  daemonLogs.set(what, () => tail);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new StepFailed(`${what} did not start within 20 s:\n${tail}`)), 20_000);
    // Both streams are read to the end (a full pipe would stall the child); the last lines are kept for a failure.
    const onData = (d: Buffer): void => {
      tail = (tail + d.toString()).slice(-4_000);
      if (started) return;
      seen += d.toString();
      const m = ready.exec(seen);
      if (m) {
        started = true;
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      reject(new StepFailed(`${what} exited (${code ?? signal}):\n${tail}`));
    });
  });
}

/** A release tree of this build's agent; a broken one's entrypoint exits at start, as an agent whose sensor cannot open its device. */
async function writeReleaseTree(version: string, broken: boolean): Promise<string> {
  const dir = join('src', version);
  await mkdir(join(root, dir, 'bin'), { recursive: true });
  const manifest = { name: 'sensor-agent', version, entrypoint: ['bin/swarm-agent', 'run'], services: [], created: '2026-01-01T00:00:00Z' };
  await writeFile(join(root, dir, 'swarm-release.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const guard = broken ? 'echo "sensor: cannot open capture device /dev/cap0" >&2\nexit 3\n' : '';
  await writeFile(join(root, dir, 'bin', 'swarm-agent'), `#!/bin/sh\n${guard}exec "${process.execPath}" "${AGENT_BIN}" "$@"\n`);
  await chmod(join(root, dir, 'bin', 'swarm-agent'), 0o755);
  return dir;
}

function rolloutIdOf(r: RunResult): string {
  const m = /started rollout (\S+)/.exec(r.stdout);
  if (!m) throw new StepFailed('swarmctl rollout start printed no rollout id');
  return m[1]!;
}

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  const t0 = Date.now();
  root = await mkdtemp(join(tmpdir(), 'swarm-demo-'));
  say(`Swarm demo: a controller and ${HOSTS.length} sensor hosts on loopback (spawn mode), in ${root}`);
  say('Every command runs from that directory; its output is indented.');

  step('1. the controller');
  await shown('swarm-controller', ['init', '--state-dir', 'controller', '--cluster', 'demo', '--san', '127.0.0.1'],
    'a CA, the controller\'s identity (valid for 127.0.0.1) and an operator identity "admin"');
  show('swarm-controller serve --state-dir controller --listen 127.0.0.1:0 --heartbeat 1 &',
    'serve on a free loopback port (hosts dial it, swarmctl talks to it); a 1 s heartbeat shows hosts online quickly');
  const url = (await startDaemon('swarm-controller', ['serve', '--state-dir', 'controller', '--listen', '127.0.0.1:0', '--heartbeat', '1'], /listening (https:\/\/\S+)/, 'the controller'))[1]!;
  env = { ...env, SWARMCTL_CONTROLLER: url, SWARMCTL_IDENTITY: 'controller/operators/admin' };
  say(`    listening ${url}`);
  show(`export SWARMCTL_CONTROLLER=${url} SWARMCTL_IDENTITY=controller/operators/admin`, 'swarmctl reads where and as whom from these');

  step('2. enroll three hosts: a one-time join token each; keys are made on the host and never leave it');
  for (const name of HOSTS) {
    const updaterPort = await freePort();
    const agentPort = await freePort();
    const add = await shown('swarmctl', ['host', 'add', name, '--address', `127.0.0.1:${updaterPort}`, '--label', 'site=lab'],
      `register ${name} with its updater's address; prints a single-use token, the CA hash and the join command`);
    const token = /^token:\s+(\S+)/m.exec(add.stdout)?.[1];
    const caHash = /^CA hash:\s+(\S+)/m.exec(add.stdout)?.[1];
    if (!token || !caHash) throw new StepFailed(`swarmctl host add ${name} printed no token or CA hash`);
    const pkiDir = `${name}/pki`;
    const joinArgs = ['join', '--controller', url, '--ca-hash', caHash, '--token-file', '-', '--pki-dir', pkiDir];
    await shown('swarm-updater', joinArgs, `on ${name} (as root there): the printed command; the token goes through stdin, never on a command line`,
      { stdin: `${token}\n`, display: `echo ${token} | swarm-updater ${joinArgs.join(' ')}` });
    const installDir = `${name}/opt`;
    installDirs.push(join(root, installDir));
    await mkdir(join(root, installDir), { recursive: true });
    await writeFile(join(root, name, 'updater.json'), `${JSON.stringify(HOST_CONFIG, null, 2)}\n`);
    const runArgs = ['run', '--install-dir', installDir, '--pki-dir', pkiDir, '--listen', `127.0.0.1:${updaterPort}`, '--agent-port', String(agentPort),
      '--restart', 'spawn', '--controller', url, '--config', `${name}/updater.json`];
    show(`swarm-updater ${runArgs.join(' ')} &`, `${name}'s updater: spawns the agent itself (no systemd here), with short watch deadlines for the demo`);
    await startDaemon('swarm-updater', runArgs, /"msg":"updater listening"/, `the updater of ${name}`);
  }
  await until('every updater to be connected', async () => {
    const list = await json<HostView[]>(['host', 'list']);
    return list.length === HOSTS.length && list.every((h) => h.channels.updater);
  });
  check(true, `${HOSTS.length} hosts enrolled, their updaters connected`);

  step('3. releases: build reproducible tarballs (id = sha256 of the bytes) and upload them once to the controller');
  const ids: Record<string, string> = {};
  for (const [version, broken] of [['v1', false], ['v2', true], ['v3', false]] as const) {
    const dir = await writeReleaseTree(version, broken);
    await shown('swarmctl', ['release', 'build', dir, '--version', version, '--out', `${version}.tar.gz`],
      broken ? `${version}: its agent exits at start ("cannot open capture device"): a broken release` : `${version}: a tree with swarm-release.json and bin/swarm-agent`);
    await shown('swarmctl', ['release', 'upload', `${version}.tar.gz`], 'store it on the controller (content-addressed; hosts get it from there)');
    const release = await json<{ id: string; version: string }>(['release', 'show', version]);
    ids[version] = release.id;
  }

  step('4. roll out v1 to every host and follow it');
  const r1 = await shown('swarmctl', ['rollout', 'start', 'v1', '--all', '--wait'],
    'canary first, then waves; each updater installs, restarts, probes and watches the agent; exits 0 only if every host succeeded');
  const v1 = await json<RolloutJson>(['rollout', 'status', rolloutIdOf(r1)]);
  check(v1.state === 'done' && v1.hosts.every((h) => h.state === 'succeeded'), `rollout ${v1.id} done, every host succeeded`);

  step('5. roll out the broken v2 with one canary');
  const r2 = await shown('swarmctl', ['rollout', 'start', 'v2', '--all', '--canary', '1', '--wait'],
    'one host first, alone: its agent dies at start, its updater rolls back by itself and the rollout pauses (exit 1)', { expect: 1 });
  const v2Id = rolloutIdOf(r2);
  await shown('swarmctl', ['rollout', 'status', v2Id], 'why it paused: the reason and the updater\'s own error');
  const v2 = await json<RolloutJson>(['rollout', 'status', v2Id]);
  const canary = v2.hosts.find((h) => h.wave === 0);
  check(v2.state === 'paused' && v2.reason === 'canary-failed', `rollout ${v2Id} paused: ${v2.reason}`);
  check(canary?.state === 'rolled-back' && canary.error !== null, `canary ${canary?.name} rolled itself back: ${canary?.error?.code ?? ''} ${canary?.error?.message ?? ''}`.trimEnd());
  check(v2.hosts.filter((h) => h !== canary).every((h) => h.state === 'pending'), 'no other host was sent v2');
  await shown('swarmctl', ['rollout', 'abort', v2Id], 'give up on v2 (resume would send it on to the other hosts)');
  const aborted = await json<RolloutJson>(['rollout', 'status', v2Id]);
  check(aborted.state === 'aborted', `rollout ${v2Id} aborted`);

  step('6. roll out a good v3');
  const r3 = await shown('swarmctl', ['rollout', 'start', 'v3', '--all', '--wait'], 'the fix, the same way as v1');
  const v3 = await json<RolloutJson>(['rollout', 'status', rolloutIdOf(r3)]);
  check(v3.state === 'done' && v3.hosts.every((h) => h.state === 'succeeded'), `rollout ${v3.id} done, every host succeeded`);
  await until('every host to report v3', async () => (await json<HostView[]>(['host', 'list'])).every((h) => h.release === ids.v3));

  step('7. incident: roll the whole fleet back');
  await shown('swarmctl', ['rollback', '--all'], 'every host in parallel back to its previous release (v1), reported host by host');
  // The report is checked through what the hosts run now: a second rollback would send them further back.
  await until('every host to report v1 again', async () => {
    const list = await json<HostView[]>(['host', 'list']);
    return list.every((h) => h.online && h.release === ids.v1);
  });
  check(true, 'every host runs v1 again');

  step('8. the fleet');
  await shown('swarmctl', ['host', 'list'], 'what each host runs, live from its channels');

  say(`\n${paint('green', 'Demo complete')} in ${Math.round((Date.now() - t0) / 1000)} s: enrolled, released, rolled out, stopped a bad canary, rolled the fleet back.`);
  if (keep) say(`kept ${root} (the processes are stopped)`);
}

/** SIGTERM every child (updaters stop their agents), SIGKILL after 10 s; then agents an updater could not stop. */
async function stopAll(): Promise<void> {
  await Promise.all([...children].reverse().map((child) => stopChild(child)));
  for (const dir of installDirs) {
    try {
      const { pid } = JSON.parse(await readFile(join(dir, 'state', 'agent.pid'), 'utf8')) as { pid: number };
      process.kill(-pid, 'SIGKILL');
    } catch {
      // no agent left
    }
  }
}

let cleaning: Promise<void> | undefined;
let interrupted = false;

/** Stop every child and remove the temp dir (unless --keep on success); every caller awaits the one clean-up. */
function cleanUp(removeDir: boolean): Promise<void> {
  cleaning ??= (async () => {
    await stopAll();
    if (removeDir && root !== '') await rm(root, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // Ctrl-C reaches our children too (one process group): the step they were in then fails; that is not news.
    interrupted = true;
    process.stderr.write(`\ndemo interrupted (${signal}) during "${stepName}": stopping the fleet and removing ${root}\n`);
    void cleanUp(true).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

main().then(
  async () => {
    await cleanUp(!process.argv.includes('--keep'));
    process.exit(0);
  },
  async (err: unknown) => {
    if (interrupted) return cleanUp(true);
    const detail = err instanceof StepFailed ? err.message : (err as Error).stack ?? String(err);
    for (const [what, logs] of daemonLogs) process.stderr.write(`\n-- last output of ${what}:\n${logs().split('\n').slice(-12).join('\n')}\n`);
    process.stderr.write(`\n${painter(process.stderr)('red', 'demo failed')} at step "${stepName}": ${detail}\n`);
    await cleanUp(true);
    process.exit(1);
  },
);
