// The real `swarm-updater join` bin against a real controller: the token from a file, stdin or the environment (never the
// command line), the printed command run as printed, and a PKI directory that cannot be written refused before the token is spent.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadTlsMaterial } from '../../shared/tls.js';
import { BUILD_ROOT, startControllerProcess, type ControllerProcess, type RunResult } from '../controller/helpers.js';

const UPDATER_BIN = join(BUILD_ROOT, 'updater', 'main.js');

interface RunOptions {
  env?: Record<string, string>;
  input?: string;
  uid?: number;
  timeoutMs?: number;
}

/** Run a program to completion (bounded: killed after timeoutMs), optionally feeding stdin. */
async function run(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const env: Record<string, string | undefined> = { ...process.env, SWARM_LOG_LEVEL: 'warn', ...options.env };
  delete env.SWARM_JOIN_TOKEN;
  if (options.env?.SWARM_JOIN_TOKEN) env.SWARM_JOIN_TOKEN = options.env.SWARM_JOIN_TOKEN;
  const child = spawn(file, args, {
    env, cwd: '/', stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.uid } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code: code ?? -1, stdout, stderr };
}

const join_ = (args: string[], options?: RunOptions): Promise<RunResult> => run(process.execPath, [UPDATER_BIN, 'join', ...args], options);

describe('swarm-updater join (the bin, a real controller)', function () {
  this.timeout(120_000);
  let ctl: ControllerProcess & { cleanup(): Promise<void> };
  let n = 0;

  before(async () => {
    ctl = await startControllerProcess([], 'jc');
  });
  after(async () => {
    await ctl?.cleanup();
  });

  /** host add --json for a fresh host: the pinned JSON fields. */
  const addHost = async (): Promise<{ name: string; token: string; caHash: string; joinCommand: string }> => {
    const add = await ctl.swarmctl(['--json', 'host', 'add', `j${++n}`]);
    assert.equal(add.code, 0, add.stderr);
    return JSON.parse(add.stdout) as { name: string; token: string; caHash: string; joinCommand: string };
  };
  const pkiOf = (name: string): string => join(ctl.root, `pki-${name}`);
  const assertJoined = async (r: RunResult, name: string): Promise<void> => {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`joined cluster jc as ${name}`));
    assert.equal((await loadTlsMaterial(pkiOf(name), 'updater', 'jc')).identity.name, name);
    assert.equal((await loadTlsMaterial(pkiOf(name), 'agent', 'jc')).identity.name, name);
  };

  it('host add prints a join command that keeps the token off every command line, and it works as printed', async () => {
    const h = await addHost();
    assert.equal(h.joinCommand, `echo ${h.token} | sudo swarm-updater join --controller ${ctl.url} --ca-hash ${h.caHash} --token-file -`);
    // Run exactly that line in a shell; sudo and swarm-updater are shims (this test runs without either installed).
    const shims = join(ctl.root, 'shims');
    await mkdir(shims, { recursive: true });
    await writeFile(join(shims, 'sudo'), '#!/bin/sh\nexec "$@"\n', { mode: 0o755 });
    await writeFile(join(shims, 'swarm-updater'), `#!/bin/sh\nexec "${process.execPath}" "${UPDATER_BIN}" "$@"\n`, { mode: 0o755 });
    const r = await run('/bin/sh', ['-c', `${h.joinCommand} --pki-dir ${pkiOf(h.name)}`], { env: { PATH: `${shims}:${process.env.PATH ?? ''}` } });
    await assertJoined(r, h.name);
    const text = await ctl.swarmctl(['host', 'add', `j${++n}`]);
    assert.match(text.stdout, /\| sudo swarm-updater join --controller \S+ --ca-hash sha256:[0-9a-f]{64} --token-file -\n/);
    assert.doesNotMatch(text.stdout, /--token /);
  });

  it('takes the token from --token-file FILE (a private file)', async () => {
    const h = await addHost();
    const file = join(ctl.root, `${h.name}.token`);
    await writeFile(file, `${h.token}\n`, { mode: 0o600 });
    await assertJoined(await join_(['--controller', ctl.url, '--ca-hash', h.caHash, '--token-file', file, '--pki-dir', pkiOf(h.name)]), h.name);
  });

  it('refuses a token file other users can read, before spending the token', async () => {
    const h = await addHost();
    const file = join(ctl.root, `${h.name}.token`);
    await writeFile(file, h.token);
    await chmod(file, 0o644);
    const r = await join_(['--controller', ctl.url, '--ca-hash', h.caHash, '--token-file', file, '--pki-dir', pkiOf(h.name)]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /readable by other users.*chmod 600/);
    await chmod(file, 0o600);
    await assertJoined(await join_(['--controller', ctl.url, '--ca-hash', h.caHash, '--token-file', file, '--pki-dir', pkiOf(h.name)]), h.name);
  });

  it('takes the token from standard input (--token-file -)', async () => {
    const h = await addHost();
    await assertJoined(await join_(['--controller', ctl.url, '--ca-hash', h.caHash, '--token-file', '-', '--pki-dir', pkiOf(h.name)], { input: `${h.token}\n` }), h.name);
  });

  it('takes the token from SWARM_JOIN_TOKEN, and refuses a token given two ways', async () => {
    const h = await addHost();
    const both = await join_(['--controller', ctl.url, '--ca-hash', h.caHash, '--token-file', '-', '--pki-dir', pkiOf(h.name)], { input: h.token, env: { SWARM_JOIN_TOKEN: h.token } });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /given 2 ways \(--token-file, SWARM_JOIN_TOKEN\)/);
    const none = await join_(['--controller', ctl.url, '--ca-hash', h.caHash, '--pki-dir', pkiOf(h.name)]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no join token/);
    await assertJoined(await join_(['--controller', ctl.url, '--ca-hash', h.caHash, '--pki-dir', pkiOf(h.name)], { env: { SWARM_JOIN_TOKEN: h.token } }), h.name);
  });

  it('still accepts --token (documented as visible to every local user)', async () => {
    const h = await addHost();
    await assertJoined(await join_(['--controller', ctl.url, '--token', h.token, '--ca-hash', h.caHash, '--pki-dir', pkiOf(h.name)]), h.name);
    const help = await join_(['--help']);
    assert.match(help.stdout, /every local user/);
    assert.match(help.stdout, /SWARM_JOIN_TOKEN/);
  });

  it('refuses a PKI directory it cannot write before contacting the controller: the token stays usable', async () => {
    const h = await addHost();
    // As root, run the join as nobody (root writes anywhere); otherwise a directory we may not write into.
    const asRoot = process.getuid?.() === 0;
    const locked = join(ctl.root, 'locked');
    await mkdir(locked, { mode: 0o700 });
    if (!asRoot) await chmod(locked, 0o500);
    const denied = join(locked, 'pki');
    // --token here (not stdin): this test is about the directory, and the same line shows the bug on older builds.
    const r = await join_(['--controller', ctl.url, '--ca-hash', h.caHash, '--token', h.token, '--pki-dir', denied], asRoot ? { uid: 65534 } : {});
    await chmod(locked, 0o700);
    const listed = JSON.parse((await ctl.swarmctl(['--json', 'host', 'list'])).stdout) as Array<{ name: string; enrolled: boolean }>;
    assert.equal(listed.find((x) => x.name === h.name)?.enrolled, false, `the failed join enrolled the host (the token is spent): ${r.stderr}`);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot write identity files in .*\(EACCES\); run it as root \(sudo\) or choose another --pki-dir \[SWARM_ERR_PKI_DIR_UNWRITABLE\]/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.ok(!existsSync(denied));
    await assertJoined(await join_(['--controller', ctl.url, '--ca-hash', h.caHash, '--token-file', '-', '--pki-dir', pkiOf(h.name)], { input: h.token }), h.name);
  });

  it('--pki-dir /proc/nope ends at once with a clear error (it used to spin for minutes), the token unspent', async () => {
    const h = await addHost();
    const r = await join_(['--controller', ctl.url, '--ca-hash', h.caHash, '--token', h.token, '--pki-dir', '/proc/nope'], { timeoutMs: 15_000 });
    assert.equal(r.code, 1, `exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, /cannot write identity files in \/proc\/nope \(ENOENT\); choose another --pki-dir \[SWARM_ERR_PKI_DIR_UNWRITABLE\]/);
    assert.deepEqual(await readdir(ctl.root).then((f) => f.filter((x) => x === `pki-${h.name}`)), []);
    await assertJoined(await join_(['--controller', ctl.url, '--ca-hash', h.caHash, '--token-file', '-', '--pki-dir', pkiOf(h.name)], { input: h.token }), h.name);
  });
});
