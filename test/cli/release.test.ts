// swarmctl release build and keygen: reproducible ids, signatures that verify, refusals of what an updater would refuse.
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { buildSwarmctl } from '../../cli/index.js';
import { runCli } from '../../shared/cli.js';
import { verifyReleaseSignature } from '../../shared/release/index.js';
import { tempDir } from '../helpers/pki.js';

async function swarmctl(args: string[], cwd?: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void): Writable => new Writable({ write(c: Buffer, _e, cb) { f(c.toString()); cb(); } });
  const stdout = sink((s) => (out += s));
  const stderr = sink((s) => (err += s));
  const before = process.cwd();
  if (cwd) process.chdir(cwd);
  try {
    const code = await runCli(buildSwarmctl({ stdout, stderr, env: {} }), args, { stdout, stderr });
    return { code, out, err };
  } finally {
    process.chdir(before);
  }
}

describe('swarmctl release build | keygen', () => {
  let t: { path: string; cleanup(): Promise<void> };
  let src: string;
  before(async () => {
    t = await tempDir();
    src = join(t.path, 'sensor');
    await mkdir(join(src, 'bin'), { recursive: true });
    await writeFile(join(src, 'bin', 'agent'), '#!/bin/sh\nexec sleep 1000\n', { mode: 0o755 });
    await writeFile(join(src, 'swarm-release.json'), JSON.stringify({ name: 'sensor', version: '0.0.0', entrypoint: ['bin/agent', 'run'] }));
  });
  after(async () => t?.cleanup());

  it('builds the same bytes and id from the same directory, named after the manifest by default', async () => {
    const a = await swarmctl(['--json', 'release', 'build', src, '--version', '1.0.0', '--out', join(t.path, 'a.tgz')]);
    assert.equal(a.code, 0, a.err);
    const b = await swarmctl(['release', 'build', src, '--version', '1.0.0', '--json'], t.path);
    assert.equal(b.code, 0, b.err);
    const ja = JSON.parse(a.out) as { id: string; file: string };
    const jb = JSON.parse(b.out) as { id: string; file: string };
    assert.equal(ja.id, jb.id);
    assert.equal(jb.file, join(t.path, 'sensor-1.0.0.tar.gz'));
    assert.deepEqual(await readFile(ja.file), await readFile(jb.file));
    const other = await swarmctl(['--json', 'release', 'build', src, '--version', '1.0.1', '--out', join(t.path, 'c.tgz')]);
    assert.notEqual((JSON.parse(other.out) as { id: string }).id, ja.id);
  });

  it('signs with a key from keygen (private 0600, never overwritten); the signature verifies with the public key', async () => {
    const key = join(t.path, 'release.key');
    const kg = await swarmctl(['release', 'keygen', '--out', key]);
    assert.equal(kg.code, 0, kg.err);
    assert.equal((await stat(key)).mode & 0o777, 0o600);
    const again = await swarmctl(['release', 'keygen', '--out', key]);
    assert.equal(again.code, 1);
    assert.match(again.err, /already exists.*\[SWARM_ERR_CLI_FILE_EXISTS\]/);
    const built = await swarmctl(['--json', 'release', 'build', src, '--version', '2.0.0', '--out', join(t.path, 's.tgz'), '--sign-key', key]);
    assert.equal(built.code, 0, built.err);
    const j = JSON.parse(built.out) as { id: string; signature: string; signatureFile: string };
    assert.equal((await readFile(j.signatureFile, 'utf8')).trim(), j.signature);
    assert.equal(verifyReleaseSignature(j.id, j.signature, await readFile(`${key}.pub`, 'utf8')), true);
    const wrongKey = await swarmctl(['release', 'build', src, '--version', '2.0.0', '--out', join(t.path, 'w.tgz'), '--sign-key', `${key}.pub`]);
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.err, /not an Ed25519 private key/);
  });

  it('refuses a directory without a valid manifest, one an updater would refuse, and a bad version', async () => {
    const empty = join(t.path, 'empty');
    await mkdir(empty);
    const none = await swarmctl(['release', 'build', empty, '--version', '1.0.0', '--out', join(t.path, 'e.tgz')]);
    assert.equal(none.code, 1);
    assert.match(none.err, /SWARM_ERR_RELEASE_BUILD_MANIFEST/);
    const escape = join(t.path, 'escape');
    await mkdir(join(escape, 'bin'), { recursive: true });
    await writeFile(join(escape, 'swarm-release.json'), JSON.stringify({ name: 'x', version: '0', entrypoint: ['bin/agent'] }));
    await writeFile(join(escape, 'bin', 'agent'), '#!/bin/sh\n', { mode: 0o755 });
    await symlink('/etc/passwd', join(escape, 'bin', 'leak'));
    const leak = await swarmctl(['release', 'build', escape, '--version', '1.0.0', '--out', join(t.path, 'l.tgz')]);
    assert.equal(leak.code, 1);
    assert.match(leak.err, /SWARM_ERR_RELEASE_BUILD_SOURCE/);
    const badVersion = await swarmctl(['release', 'build', src, '--version', '../1']);
    assert.equal(badVersion.code, 2);
  });
});
