// Reproducible release builds, release ids and Ed25519 signatures over them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, symlink, utimes, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { buildRelease, buildReleaseToFile, releaseIdOf, signReleaseId, verifyReleaseSignature } from '../../../shared/release/index.js';
import { tempDir } from '../../helpers/pki.js';
import { tarHeaders, writeReleaseTree } from '../../helpers/releases.js';

async function listEntries(tarball: Buffer): Promise<Array<{ name: string; type: string; mode: number; mtime: number; uid: number; linkname: string | null }>> {
  return (await tarHeaders(tarball)).map((h) => ({ name: h.name, type: h.type, mode: h.mode, mtime: h.mtime.getTime(), uid: h.uid, linkname: h.linkname }));
}

describe('shared/release: reproducible builds', () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    tmp = await tempDir('swarm-build-');
  });
  afterEach(() => tmp.cleanup());

  it('builds the same bytes twice, and mtimes on disk do not change them', async () => {
    const src = join(tmp.path, 'src');
    await writeReleaseTree(src, { files: 20, fileBytes: 3000, extra: { 'lib/a.txt': 'a', 'lib/b.txt': 'b' } });
    await symlink('../bin/swarm-agent', join(src, 'lib', 'agent-link'));
    const first = await buildRelease(src, {});
    const second = await buildRelease(src, {});
    assert.ok(first.tarball.equals(second.tarball));
    assert.equal(first.id, second.id);
    assert.equal(first.id, releaseIdOf(first.tarball));
    await utimes(join(src, 'lib', 'a.txt'), new Date('2001-02-03'), new Date('2001-02-03'));
    await utimes(join(src, 'lib'), new Date('2011-02-03'), new Date('2011-02-03'));
    const third = await buildRelease(src, {});
    assert.equal(third.id, first.id, 'a different mtime changed the bytes');
    const out = join(tmp.path, 'r.tar.gz');
    const written = await buildReleaseToFile(src, out, {});
    assert.equal(written.id, first.id);
    assert.equal(written.bytes, first.tarball.length);
    assert.ok((await readFile(out)).equals(first.tarball));
  });

  it('writes sorted entries with fixed metadata, normalized modes and symlinks kept', async () => {
    const src = join(tmp.path, 'src');
    await writeReleaseTree(src, { extra: { 'z.txt': 'z', 'a-b.txt': 'ab', 'a/x.txt': 'x' } });
    await chmod(join(src, 'z.txt'), 0o600);
    await chmod(join(src, 'a', 'x.txt'), 0o700);
    await symlink('x.txt', join(src, 'a', 'link'));
    const { tarball } = await buildRelease(src, {});
    const entries = await listEntries(tarball);
    const names = entries.map((e) => e.name);
    assert.deepEqual(names, [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    assert.ok(entries.every((e) => e.mtime === 0 && e.uid === 0));
    const byName = new Map(entries.map((e) => [e.name.replace(/\/$/, ''), e]));
    assert.equal(byName.get('z.txt')?.mode, 0o644);
    assert.equal(byName.get('a/x.txt')?.mode, 0o755);
    assert.equal(byName.get('bin/swarm-agent')?.mode, 0o755);
    assert.equal(byName.get('a')?.type, 'directory');
    assert.equal(byName.get('a')?.mode, 0o755);
    assert.equal(byName.get('a/link')?.type, 'symlink');
    assert.equal(byName.get('a/link')?.linkname, 'x.txt');
    // gzip header: no name, mtime 0
    assert.equal(tarball[3]! & 0x08, 0, 'FNAME set');
    assert.equal(tarball.readUInt32LE(4), 0);
  });

  it('overrides the version in the packed manifest and refuses a bad one', async () => {
    const src = join(tmp.path, 'src');
    await writeReleaseTree(src, { version: '1.0.0' });
    const a = await buildRelease(src, { version: '2.0.0' });
    const b = await buildRelease(src, {});
    assert.notEqual(a.id, b.id);
    await assert.rejects(buildRelease(src, { version: '../x' }), { code: 'SWARM_ERR_RELEASE_BUILD_MANIFEST' });
  });

  it('refuses a directory without a valid manifest, with a special file, or a symlink leaving it', async () => {
    const empty = join(tmp.path, 'empty');
    await mkdir(empty);
    await assert.rejects(buildRelease(empty, {}), { code: 'SWARM_ERR_RELEASE_BUILD_MANIFEST' });
    await writeFile(join(empty, 'swarm-release.json'), '{"name":"x"}');
    await assert.rejects(buildRelease(empty, {}), (err: Error & { code?: string }) => err.code === 'SWARM_ERR_RELEASE_BUILD_MANIFEST' && /version|entrypoint/.test(err.message));
    const src = join(tmp.path, 'src');
    await writeReleaseTree(src);
    await symlink('../../etc/passwd', join(src, 'bin', 'passwd'));
    await assert.rejects(buildRelease(src, {}), { code: 'SWARM_ERR_RELEASE_BUILD_SOURCE' });
    const src2 = join(tmp.path, 'src2');
    await writeReleaseTree(src2);
    execFileSync('mkfifo', [join(src2, 'bin', 'pipe')]);
    await assert.rejects(buildRelease(src2, {}), { code: 'SWARM_ERR_RELEASE_BUILD_SOURCE' });
  });
});

describe('shared/release: signatures', () => {
  it('signs and verifies a release id with Ed25519, and refuses the wrong key, id or garbage', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519');
    const priv = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const pub = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const id = releaseIdOf(Buffer.from('release'));
    const sig = signReleaseId(id, priv);
    assert.equal(verifyReleaseSignature(id, sig, pub), true);
    assert.equal(verifyReleaseSignature(releaseIdOf(Buffer.from('other')), sig, pub), false);
    assert.equal(verifyReleaseSignature(id, sig, other.publicKey.export({ type: 'spki', format: 'pem' }).toString()), false);
    assert.equal(verifyReleaseSignature(id, 'not base64!', pub), false);
    assert.equal(verifyReleaseSignature(id, sig, 'not a key'), false);
  });
});
