// deploy/systemd and deploy/install.sh: each unit's offline exposure score stays under its ceiling (and a loosened
// copy goes over it), `systemd-analyze verify` is clean, the polkit rule allows exactly what the updater needs,
// and install.sh refuses clearly, installs the layout the units expect, and is idempotent.
//
// systemd-analyze missing is a failure, not a skip: CI runs on the same kind of machine as production builds,
// and a silently skipped score check would let a loosened unit through.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, readFile, readlink, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { CONTROLLER_RUNTIME } from '../../shared/defaults.js';
import { limitValue } from '../../shared/limits.js';
import { buildReleaseToFile } from '../../shared/release/index.js';
import { tempDir } from '../helpers/pki.js';
import { repoRoot } from '../helpers/repo.js';

const ROOT = repoRoot();
const UNITS_DIR = join(ROOT, 'deploy', 'systemd');
const INSTALL_SH = join(ROOT, 'deploy', 'install.sh');

/** The ceilings (lower is safer): DESIGN §8 asks for the tightest sandbox each process tolerates. */
const CEILINGS = { 'swarm-controller.service': 2.0, 'swarm-updater.service': 2.5, 'swarm-agent.service': 3.0 } as const;
type UnitName = keyof typeof CEILINGS;
const UNITS = Object.keys(CEILINGS) as UnitName[];
/** The unit settings docs/limits.md lists (section "systemd units"). */
const TIMING_DIRECTIVES = ['WatchdogSec', 'TimeoutStartSec', 'TimeoutStopSec', 'RestartSec', 'StartLimitIntervalSec', 'LimitNOFILE'];

function run(cmd: string, args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, ...options });
  if (r.error) throw new Error(`${cmd} could not run: ${r.error.message}`);
  return r;
}

function assertSystemdAnalyze(): void {
  const r = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error('systemd-analyze is missing: install systemd (apt-get install systemd); the unit scores cannot be checked without it');
  }
}

/** `systemd-analyze security --offline=true FILE`: the "Overall exposure level" number. */
function exposure(file: string): number {
  const r = run('systemd-analyze', ['security', '--offline=true', '--no-pager', file]);
  const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(r.stdout);
  assert.ok(m, `no exposure level in the output of systemd-analyze security (exit ${r.status}): ${r.stdout.slice(-400)}${r.stderr}`);
  return Number(m[1]);
}

/** Everything from the sandbox marker on dropped: the unit as it would be without its hardening. */
function loosen(text: string): string {
  const at = text.indexOf('# --- Sandbox');
  assert.ok(at > 0, 'each unit marks where its sandbox starts');
  const install = text.indexOf('[Install]');
  return text.slice(0, at) + text.slice(install);
}

/**
 * A root for `systemd-analyze verify --root=`: the units in etc/systemd/system, stub executables where an
 * installed host has them (Node, the release's agent entry point that install.sh puts behind active, kill), and
 * empty targets for the dependencies systemd adds. Only the host's systemd binary is used: deterministic.
 */
async function verifyRoot(dir: string, units: Record<string, string>): Promise<string> {
  const root = join(dir, 'root');
  for (const d of ['etc/systemd/system', 'usr/lib/systemd/system', 'usr/bin', 'bin', 'opt/swarm/active/bin']) await mkdir(join(root, d), { recursive: true });
  for (const [name, text] of Object.entries(units)) await writeFile(join(root, 'etc/systemd/system', name), text);
  for (const exe of ['usr/bin/node', 'bin/kill', 'opt/swarm/active/bin/swarm-agent']) {
    await writeFile(join(root, exe), '#!/bin/sh\nexit 0\n');
    await chmod(join(root, exe), 0o755);
  }
  for (const target of ['sysinit.target', 'basic.target', 'shutdown.target', 'network-online.target', 'multi-user.target']) {
    await writeFile(join(root, 'usr/lib/systemd/system', target), '[Unit]\nDescription=stub\n');
  }
  return root;
}

function verify(root: string, name: string): { status: number | null; output: string } {
  const r = run('systemd-analyze', ['verify', '--no-pager', `--root=${root}`, join(root, 'etc/systemd/system', name)], { env: { ...process.env, SYSTEMD_LOG_COLOR: '0' } });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

describe('deploy/systemd units', function () {
  this.timeout(60_000);
  const texts = {} as Record<UnitName, string>;
  before(async () => {
    assertSystemdAnalyze();
    for (const u of UNITS) texts[u] = await readFile(join(UNITS_DIR, u), 'utf8');
  });

  for (const u of UNITS) {
    it(`${u} scores at most ${CEILINGS[u]} (systemd-analyze security --offline=true)`, () => {
      const score = exposure(join(UNITS_DIR, u));
      assert.ok(score <= CEILINGS[u], `${u} exposure ${score} is above its ceiling ${CEILINGS[u]}: a directive was loosened`);
    });
  }

  it('would catch a loosened unit: each one without its sandbox scores above its ceiling', async () => {
    const dir = await tempDir('swarm-units-loose-');
    try {
      for (const u of UNITS) {
        const file = join(dir.path, u);
        await writeFile(file, loosen(texts[u]));
        const score = exposure(file);
        assert.ok(score > CEILINGS[u], `${u} without its sandbox still scores ${score} <= ${CEILINGS[u]}: the ceiling proves nothing`);
      }
    } finally {
      await dir.cleanup();
    }
  });

  it('passes systemd-analyze verify with no output at all, and verify does catch a broken unit', async () => {
    const dir = await tempDir('swarm-units-verify-');
    try {
      const root = await verifyRoot(dir.path, { ...texts, 'swarm-broken.service': `${texts['swarm-agent.service'].replace('[Service]', '[Service]\nProtectSystm=strict')}` });
      for (const u of UNITS) assert.deepEqual(verify(root, u), { status: 0, output: '' }, `${u} verifies clean`);
      const broken = verify(root, 'swarm-broken.service');
      assert.match(broken.output, /Unknown key( name)? 'ProtectSystm'/, 'a misspelt directive is reported');
    } finally {
      await dir.cleanup();
    }
  });

  it('runs Type=notify with a watchdog, NotifyAccess=all, and the pinned users, paths and capabilities', () => {
    for (const u of UNITS) {
      for (const line of ['Type=notify', 'NotifyAccess=all', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'SystemCallArchitectures=native']) {
        assert.ok(texts[u].split('\n').includes(line), `${u} has ${line}`);
      }
      assert.match(texts[u], /^WatchdogSec=\d+s?$/m, `${u} has a watchdog`);
      assert.doesNotMatch(texts[u], /^MemoryDenyWriteExecute=yes/m, `${u}: V8's JIT needs W+X memory`);
    }
    const a = texts['swarm-agent.service'];
    assert.match(a, /^User=swarm-agent$/m);
    assert.match(a, /^ExecStart=\/opt\/swarm\/active\/bin\/swarm-agent run$/m);
    assert.match(a, /^WorkingDirectory=\/opt\/swarm\/active$/m);
    assert.match(a, /^EnvironmentFile=\/etc\/swarm\/agent\.env$/m);
    assert.match(a, /^AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW$/m);
    assert.match(a, /^CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW$/m);
    for (const u of ['swarm-controller.service', 'swarm-updater.service'] as const) {
      assert.match(texts[u], /^User=swarm$/m);
      assert.match(texts[u], /^CapabilityBoundingSet=$/m, `${u} holds no capability`);
    }
    const up = texts['swarm-updater.service'];
    assert.match(up, /^ExecStart=\S+ \S+ run --supervise /m);
    assert.match(up, /^KillMode=mixed$/m);
    assert.match(up, /^Environment=NODE_OPTIONS=--max-semi-space-size=1$/m);
  });

  it('keeps docs/limits.md ("systemd units") equal to the units, and the agent restart inside the updater\'s deadline', async () => {
    const doc = await readFile(join(ROOT, 'docs', 'limits.md'), 'utf8');
    const documented = new Map<string, string>();
    for (const line of doc.split('\n')) {
      const m = /^\| (swarm-[a-z]+\.service) \| ([A-Za-z ]+) \| ([^|]+) \|/.exec(line);
      if (m) documented.set(`${m[1]} ${m[2]}`, m[3]!.trim());
    }
    const actual = new Map<string, string>();
    for (const u of UNITS) {
      for (const d of TIMING_DIRECTIVES) {
        const m = new RegExp(`^${d}=(\\S+)$`, 'm').exec(texts[u]);
        if (m) actual.set(`${u} ${d}`, m[1]!);
      }
      actual.set(`${u} exposure ceiling`, CEILINGS[u].toFixed(1));
    }
    assert.deepEqual([...documented].sort(), [...actual].sort());
    const seconds = (v: string): number => Number(/^(\d+)s?$/.exec(v)?.[1] ?? NaN);
    const agentRestart = seconds(actual.get('swarm-agent.service TimeoutStopSec')!) + seconds(actual.get('swarm-agent.service TimeoutStartSec')!);
    assert.ok(agentRestart * 1000 < limitValue('updater.restart.systemctl-timeout'), `the agent's stop + start (${agentRestart} s) must fit the updater's systemctl deadline`);
  });

  it('names JavaScript entry points that the release carries (dist/<program>/main.js)', () => {
    for (const u of ['swarm-controller.service', 'swarm-updater.service'] as const) {
      const m = /^ExecStart=\/usr\/bin\/node (?:--\S+ )*\/usr\/lib\/swarm\/current\/(\S+)/m.exec(texts[u]);
      assert.ok(m, `${u} runs the packaged code with /usr/bin/node`);
      assert.ok(existsSync(join(ROOT, m[1]!)), `${m[1]} is built (npm run build), so the release has it`);
    }
  });
});

describe('the controller\'s runtime (shared/defaults.ts CONTROLLER_RUNTIME)', () => {
  it('is what its unit and its wrapper start it with: the node flags (its OpenSSL settings among them) and the malloc environment', async () => {
    const unit = await readFile(join(UNITS_DIR, 'swarm-controller.service'), 'utf8');
    const wrapper = await readFile(join(ROOT, 'deploy', 'bin', 'swarm-controller'), 'utf8');
    const pairs = Object.entries(CONTROLLER_RUNTIME.env).map(([k, v]) => `${k}=${v}`);
    const environment = unit.split('\n').filter((l) => l.startsWith('Environment=')).flatMap((l) => l.slice('Environment='.length).split(' '));
    const exported = wrapper.split('\n').filter((l) => l.startsWith('export ')).flatMap((l) => l.slice('export '.length).split(' '));
    for (const p of pairs) {
      assert.ok(environment.includes(p), `swarm-controller.service sets ${p}`);
      assert.ok(exported.includes(p), `deploy/bin/swarm-controller exports ${p}`);
    }
    // Installed, the build output is /usr/lib/swarm/current/dist (the OpenSSL settings' path is under it).
    const flags = CONTROLLER_RUNTIME.nodeFlags.join(' ').split(join(ROOT, 'dist')).join('/usr/lib/swarm/current/dist');
    assert.match(flags, /--openssl-config=\/usr\/lib\/swarm\/current\/dist\/controller\/openssl\.cnf/);
    assert.match(unit, new RegExp(`^ExecStart=/usr/bin/node ${flags} /usr/lib/swarm/current/dist/controller/main\\.js `, 'm'));
    const execs = wrapper.split('\n').filter((l) => /exec .*\/usr\/bin\/node/.test(l));
    assert.equal(execs.length, 2);
    for (const e of execs) assert.ok(e.includes(`/usr/bin/node ${flags} "$main"`), e);
  });
});

describe('deploy/systemd/50-swarm.rules (polkit)', () => {
  type Result = 'yes' | 'not-handled';
  let rule: (action: { id: string; unit: string; verb: string }, groups: string[]) => Result;
  before(async () => {
    const source = await readFile(join(UNITS_DIR, '50-swarm.rules'), 'utf8');
    const rules: Array<(a: unknown, s: unknown) => unknown> = [];
    const polkit = { Result: { YES: 'yes', NOT_HANDLED: 'not-handled', NO: 'no' }, addRule: (f: (a: unknown, s: unknown) => unknown) => rules.push(f) };
    runInNewContext(source, { polkit });
    assert.equal(rules.length, 1);
    rule = (action, groups) => rules[0]!(
      { id: action.id, lookup: (k: string) => (k === 'unit' ? action.unit : k === 'verb' ? action.verb : undefined) },
      { isInGroup: (g: string) => groups.includes(g) },
    ) as Result;
  });
  const manage = 'org.freedesktop.systemd1.manage-units';

  it('lets group swarm start, stop and restart swarm-agent.service and swarm-updater.service', () => {
    for (const unit of ['swarm-agent.service', 'swarm-updater.service']) {
      for (const verb of ['start', 'stop', 'restart']) assert.equal(rule({ id: manage, unit, verb }, ['swarm']), 'yes', `${verb} ${unit}`);
    }
  });

  it('decides nothing else: other units, other verbs, other groups, other actions', () => {
    assert.equal(rule({ id: manage, unit: 'ssh.service', verb: 'restart' }, ['swarm']), 'not-handled');
    assert.equal(rule({ id: manage, unit: 'swarm-controller.service', verb: 'restart' }, ['swarm']), 'not-handled');
    assert.equal(rule({ id: manage, unit: 'swarm-agent.service', verb: 'reload' }, ['swarm']), 'not-handled');
    assert.equal(rule({ id: manage, unit: 'swarm-agent.service', verb: 'restart' }, ['swarm-agent']), 'not-handled');
    assert.equal(rule({ id: 'org.freedesktop.systemd1.manage-unit-files', unit: 'swarm-agent.service', verb: 'restart' }, ['swarm']), 'not-handled');
  });
});

/** A tarball with the layout `npm run release` produces (the real builder, small contents). */
async function fakeSwarmRelease(dir: string, version: string): Promise<{ file: string; id: string }> {
  const stage = join(dir, `stage-${version}`);
  for (const d of ['bin', 'dist/agent', 'dist/updater', 'dist/controller', 'dist/cli', 'node_modules/x']) await mkdir(join(stage, d), { recursive: true });
  await writeFile(join(stage, 'swarm-release.json'), JSON.stringify({ name: 'swarm', version, entrypoint: ['bin/swarm-agent', 'run'], services: [] }));
  await writeFile(join(stage, 'package.json'), JSON.stringify({ name: 'swarm', version }));
  await writeFile(join(stage, 'bin/swarm-agent'), '#!/bin/sh\nexit 0\n');
  await chmod(join(stage, 'bin/swarm-agent'), 0o755);
  for (const p of ['agent', 'updater', 'controller', 'cli']) await writeFile(join(stage, 'dist', p, 'main.js'), '// stub\n');
  await writeFile(join(stage, 'node_modules/x/index.js'), '// stub\n');
  const file = join(dir, `swarm-${version}.tar.gz`);
  const built = await buildReleaseToFile(stage, file, { version });
  return { file, id: built.id };
}

/** Every path under root with its type, mode, owner and content hash (or link target): two runs must agree. */
async function snapshot(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const abs = join(root, rel);
    const st = await lstat(abs);
    let what = '';
    if (st.isSymbolicLink()) what = `-> ${await readlink(abs)}`;
    else if (st.isFile()) what = createHash('sha256').update(await readFile(abs)).digest('hex');
    out.push(`${rel} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${what}`);
    if (st.isDirectory()) for (const n of (await readdir(abs)).sort()) await walk(join(rel, n));
  };
  await walk('.');
  return out.filter((l) => !/^etc\/(passwd-|group-|shadow-|gshadow-|\.pwd\.lock) /.test(l));
}

function idsOf(root: string, file: 'passwd' | 'group', name: string): Promise<number> {
  return readFile(join(root, 'etc', file), 'utf8').then((t) => {
    const line = t.split('\n').find((l) => l.startsWith(`${name}:`));
    assert.ok(line, `${name} is in ${file}`);
    return Number(line.split(':')[2]);
  });
}

describe('deploy/install.sh', function () {
  this.timeout(60_000);
  const sh = (args: readonly string[], input?: string): SpawnSyncReturns<string> => run('bash', [INSTALL_SH, ...args], input === undefined ? {} : { input });

  it('parses (bash -n) and answers --help with exit 0', () => {
    assert.equal(run('bash', ['-n', INSTALL_SH]).status, 0);
    const r = sh(['--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /--role host\|controller/);
    assert.match(r.stdout, /--tarball FILE/);
  });

  it('refuses with exit 2 and one line naming what is wrong and what to do', async () => {
    const dir = await tempDir('swarm-install-refuse-');
    try {
      const junk = join(dir.path, 'junk.tar.gz');
      await writeFile(junk, 'not a tarball');
      const other = join(dir.path, 'other.tar.gz');
      assert.equal(run('tar', ['-czf', other, '-C', UNITS_DIR, 'agent.env']).status, 0);
      const cases: Array<[string[], RegExp]> = [
        [['--tarball', junk], /--role is required/],
        [['--role', 'sensor', '--tarball', junk], /--role must be host or controller/],
        [['--role', 'host'], /--tarball is required.*npm run release/],
        [['--role', 'host', '--tarball', join(dir.path, 'missing.tar.gz'), '--root', dir.path], /tarball .*missing\.tar\.gz does not exist; build it with 'npm run release'/],
        [['--role', 'host', '--tarball', junk, '--root', dir.path], /is not a gzip'd tar/],
        [['--role', 'host', '--tarball', other, '--root', dir.path], /has no swarm-release\.json; it is not a Swarm release/],
        [['--role', 'host', '--tarball', other, '--token-file', 'x', '--root', dir.path], /--token-file needs --controller URL and --ca-hash/],
        [['--role', 'controller', '--tarball', other, '--controller', 'https://c:8770', '--root', dir.path], /are for --role host/],
        [['--role', 'host', '--tarball', other, '--controller', 'http://c:8770', '--root', dir.path], /--controller must be an https:\/\/ URL/],
        [['--role', 'host', '--bogus'], /unknown argument '--bogus'/],
      ];
      for (const [args, message] of cases) {
        const r = sh(args);
        assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status} ${r.stderr}`);
        assert.match(r.stderr, message, args.join(' '));
        assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
      }
      assert.deepEqual(await readdir(dir.path), ['junk.tar.gz', 'other.tar.gz'], 'nothing was written');
    } finally {
      await dir.cleanup();
    }
  });

  it('refuses without root, and without systemd as PID 1', async function () {
    const dir = await tempDir('swarm-install-env-');
    try {
      await chmod(dir.path, 0o755);
      const { file } = await fakeSwarmRelease(dir.path, '1.0.0');
      await chmod(file, 0o644);
      const asNobody = process.getuid?.() === 0
        ? run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', INSTALL_SH, '--role', 'host', '--tarball', file])
        : sh(['--role', 'host', '--tarball', file]);
      assert.equal(asNobody.status, 2, asNobody.stderr);
      assert.match(asNobody.stderr, /must run as root .*sudo/);
      if (process.getuid?.() !== 0 || existsSync('/run/systemd/system')) {
        // On a host that does run systemd this would install for real: the refusal is only checked where it applies.
        this.skip();
      }
      const r = sh(['--role', 'host', '--tarball', file]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /systemd is not running on this host \(\/run\/systemd\/system is missing\)/);
    } finally {
      await dir.cleanup();
    }
  });

  it('installs a host into --root with the owners and modes the units need, and a second run changes nothing', async function () {
    if (process.getuid?.() !== 0) this.skip(); // it chowns to the swarm users it creates
    const dir = await tempDir('swarm-install-root-');
    try {
      const { file, id } = await fakeSwarmRelease(dir.path, '1.0.0');
      const root = join(dir.path, 'root');
      await mkdir(root);
      const args = ['--role', 'host', '--tarball', file, '--controller', 'https://ctl.example.net:8770', '--root', root];
      const first = sh(args);
      assert.equal(first.status, 0, first.stderr);
      const swarm = await idsOf(root, 'passwd', 'swarm');
      const agent = await idsOf(root, 'passwd', 'swarm-agent');
      const stat = async (p: string): Promise<[string, number]> => {
        const st = await lstat(join(root, p));
        return [(st.mode & 0o7777).toString(8), st.uid];
      };
      const dirName = `1.0.0-${id.slice(0, 12)}`;
      assert.deepEqual(await stat('etc/swarm/pki'), ['711', swarm]);
      assert.deepEqual(await stat('etc/swarm/pki/agent'), ['700', agent]);
      assert.deepEqual(await stat('opt/swarm'), ['755', swarm]);
      assert.deepEqual(await stat(`opt/swarm/releases/${dirName}`), ['755', swarm], 'the updater owns (and may prune) the first release');
      assert.equal(await readlink(join(root, 'opt/swarm/active')), `releases/${dirName}`);
      assert.equal(await readlink(join(root, 'usr/lib/swarm/current')), dirName);
      assert.deepEqual(await stat(`usr/lib/swarm/${dirName}/dist/updater/main.js`), ['644', 0], 'the packaged code is root-owned');
      const sidecar = JSON.parse(await readFile(join(root, 'opt/swarm/releases', dirName, '.swarm-release.json'), 'utf8')) as { id: string; version: string };
      assert.deepEqual([sidecar.id, sidecar.version], [id, '1.0.0']);
      assert.match(await readFile(join(root, 'etc/swarm/agent.env'), 'utf8'), /^SWARM_CONTROLLER=https:\/\/ctl\.example\.net:8770$/m);
      assert.equal((JSON.parse(await readFile(join(root, 'etc/swarm/updater.json'), 'utf8')) as { controller: string }).controller, 'https://ctl.example.net:8770');
      for (const f of ['etc/systemd/system/swarm-agent.service', 'etc/systemd/system/swarm-updater.service', 'etc/polkit-1/rules.d/50-swarm.rules']) {
        assert.equal(await readFile(join(root, f), 'utf8'), await readFile(join(UNITS_DIR, f.split('/').pop()!), 'utf8'), f);
      }
      for (const bin of ['swarmctl', 'swarm-updater', 'swarm-controller']) {
        assert.equal(await readFile(join(root, 'usr/local/bin', bin), 'utf8'), await readFile(join(ROOT, 'deploy/bin', bin), 'utf8'), bin);
        assert.deepEqual(await stat(`usr/local/bin/${bin}`), ['755', 0]);
      }

      const before = await snapshot(root);
      const second = sh(args);
      assert.equal(second.status, 0, second.stderr);
      assert.deepEqual(await snapshot(root), before, 'a second run leaves every file, mode and owner as it was');

      // A hand-run `swarm-updater join` writes both identities into /etc/swarm/pki as root: the next run gives the
      // agent its own directory and each user its own key.
      for (const [f, mode] of [['ca.crt', 0o644], ['updater.key', 0o600], ['updater.crt', 0o644], ['agent.key', 0o600], ['agent.crt', 0o644]] as const) {
        await writeFile(join(root, 'etc/swarm/pki', f), `${f}\n`, { mode });
      }
      const third = sh(args);
      assert.equal(third.status, 0, third.stderr);
      assert.deepEqual(await stat('etc/swarm/pki/updater.key'), ['600', swarm]);
      assert.deepEqual(await stat('etc/swarm/pki/agent/agent.key'), ['600', agent]);

      // A newer tarball replaces the packaged code only: active and releases/ are the updater's from now on.
      const next = await fakeSwarmRelease(dir.path, '1.1.0');
      const upgrade = sh(['--role', 'host', '--tarball', next.file, '--root', root]);
      assert.equal(upgrade.status, 0, upgrade.stderr);
      const nextDir = `1.1.0-${next.id.slice(0, 12)}`;
      assert.equal(await readlink(join(root, 'usr/lib/swarm/current')), nextDir);
      assert.deepEqual((await readdir(join(root, 'usr/lib/swarm'))).sort(), [nextDir, 'current'].sort(), 'the old packaged code is gone');
      assert.equal(await readlink(join(root, 'opt/swarm/active')), `releases/${dirName}`);
      assert.deepEqual(await readdir(join(root, 'opt/swarm/releases')), [dirName]);
      assert.match(upgrade.stdout, /active stays on releases\/1\.0\.0-.*swarmctl/);
      assert.deepEqual(await stat('etc/swarm/pki/agent/ca.crt'), ['644', agent]);
      assert.equal(existsSync(join(root, 'etc/swarm/pki/agent.key')), false, 'no agent key left beside the updater key');

      // The real key readers and the renewal writer, run as those users: each reads and renews its own key, the
      // agent cannot read the updater's.
      await chmod(dir.path, 0o755);
      const probe = join(dir.path, 'key-probe.mjs');
      await writeFile(probe, [
        `import { readPrivateKeyFile, writePrivateKeyFile } from ${JSON.stringify(join(ROOT, 'dist/shared/files.js'))};`,
        'const [op, path] = process.argv.slice(2);',
        "try { if (op === 'read') await readPrivateKeyFile(path); else await writePrivateKeyFile(path, 'renewed\\n'); process.stdout.write('ok'); }",
        "catch (err) { process.stdout.write(err.code ?? 'error'); }",
      ].join('\n'));
      const as = (uid: number, op: 'read' | 'write', path: string): string =>
        run('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, probe, op, join(root, path)]).stdout;
      assert.equal(as(swarm, 'read', 'etc/swarm/pki/updater.key'), 'ok');
      assert.equal(as(swarm, 'write', 'etc/swarm/pki/updater.key'), 'ok', 'the updater renews its key in place');
      assert.equal(as(agent, 'read', 'etc/swarm/pki/agent/agent.key'), 'ok');
      assert.equal(as(agent, 'write', 'etc/swarm/pki/agent/agent.key'), 'ok', 'the agent renews its key in place');
      assert.equal(as(agent, 'read', 'etc/swarm/pki/updater.key'), 'SWARM_ERR_KEY_PERMISSIONS', 'the agent cannot use the updater key');
      assert.deepEqual(await stat('etc/swarm/pki/agent/agent.key'), ['600', agent]);
    } finally {
      await dir.cleanup();
    }
  });

  it('installs a controller into --root: its unit, /var/lib/swarm for swarm only, no host parts', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const dir = await tempDir('swarm-install-ctl-');
    try {
      const { file } = await fakeSwarmRelease(dir.path, '2.0.0');
      const root = join(dir.path, 'root');
      await mkdir(root);
      const r = sh(['--role', 'controller', '--tarball', file, '--root', root]);
      assert.equal(r.status, 0, r.stderr);
      const st = await lstat(join(root, 'var/lib/swarm'));
      assert.deepEqual([(st.mode & 0o7777).toString(8), st.uid], ['700', await idsOf(root, 'passwd', 'swarm')]);
      assert.equal(await readFile(join(root, 'etc/systemd/system/swarm-controller.service'), 'utf8'), await readFile(join(UNITS_DIR, 'swarm-controller.service'), 'utf8'));
      for (const absent of ['etc/systemd/system/swarm-agent.service', 'etc/polkit-1/rules.d/50-swarm.rules', 'opt/swarm/active', 'etc/swarm/agent.env']) {
        assert.equal(existsSync(join(root, absent)), false, `${absent} is a host's, not a controller's`);
      }
    } finally {
      await dir.cleanup();
    }
  });
});
