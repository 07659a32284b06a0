// Installing good releases: layout, sidecar, modes, symlinks, idempotence, signatures, bad marks, cancellation.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, readlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { buildRelease, signReleaseId } from '../../../shared/release/index.js';
import { SidecarSchema } from '../../../shared/release-manifest.js';
import { gnuLong, gzipTar, manifestJson, padded, rawHeader, tarEntry, validReleaseEntries, writeReleaseTree } from '../../helpers/releases.js';
import { createSandbox, defaultLimits, snapshot, type Sandbox } from './sandbox.js';

describe('updater/install: installing releases', () => {
  let sb: Sandbox;
  beforeEach(async () => {
    sb = await createSandbox();
  });
  afterEach(() => sb.cleanup());

  async function buildGood(version = '1.2.3', extra: Record<string, string> = {}): Promise<{ tarball: Buffer; id: string; src: string }> {
    const src = join(sb.outer, `src-${version}-${Object.keys(extra).length}`);
    await writeReleaseTree(src, { version, files: 5, fileBytes: 2048, extra: { 'conf/app.conf': 'a=1\n', 'lib/tool.sh': '#!/bin/sh\n', ...extra } });
    await chmod(join(src, 'lib', 'tool.sh'), 0o750);
    await chmod(join(src, 'conf', 'app.conf'), 0o600);
    await symlink('../bin/swarm-agent', join(src, 'lib', 'agent'));
    await mkdir(join(src, 'empty'));
    return { ...(await buildRelease(src, {})), src };
  }

  it('installs a release into releases/<version>-<12 hex> with its sidecar, normalized modes and inner symlinks', async () => {
    const { tarball, id } = await buildGood();
    const before = await sb.store.readLinks();
    const installed = await sb.store.install({ body: Readable.from([tarball]), expectedId: id, limits: defaultLimits() });
    assert.equal(installed.id, id);
    assert.equal(installed.version, '1.2.3');
    assert.equal(installed.dirName, `1.2.3-${id.slice(0, 12)}`);
    assert.equal(installed.dir, join(sb.root, 'releases', installed.dirName));
    assert.equal(installed.manifest.entrypoint[0], 'bin/swarm-agent');
    const sidecar = SidecarSchema.parse(JSON.parse(await readFile(join(installed.dir, '.swarm-release.json'), 'utf8')));
    assert.equal(sidecar.id, id);
    assert.equal(sidecar.version, '1.2.3');
    assert.ok(!Number.isNaN(Date.parse(sidecar.installedAt)));
    const mode = async (p: string): Promise<number> => (await lstat(join(installed.dir, p))).mode & 0o7777;
    assert.equal(await mode('bin/swarm-agent'), 0o755);
    assert.equal(await mode('lib/tool.sh'), 0o755, 'executables are normalized to 0755 by the builder');
    assert.equal(await mode('conf/app.conf'), 0o644);
    assert.equal(await mode('bin'), 0o755);
    assert.equal(await mode('empty'), 0o755);
    assert.equal(await mode(''), 0o755);
    assert.equal(await readlink(join(installed.dir, 'lib', 'agent')), '../bin/swarm-agent');
    assert.equal(await readFile(join(installed.dir, 'conf', 'app.conf'), 'utf8'), 'a=1\n');
    assert.equal((await readdir(join(installed.dir, 'data', 'd000'))).length, 5);
    assert.deepEqual(await readdir(join(sb.root, 'staging')), []);
    assert.deepEqual(await sb.store.readLinks(), before, 'installing does not touch the links');
    assert.deepEqual((await sb.store.get(id))?.dirName, installed.dirName);
    assert.deepEqual((await sb.store.get(installed.dirName))?.id, id);
  });

  it('keeps file modes from the tar (never more than 0755) and accepts ./ roots, implicit dirs and GNU-style trailing slashes', async () => {
    const tarball = gzipTar([
      await tarEntry({ name: './', type: 'directory' }),
      await tarEntry({ name: './swarm-release.json', content: manifestJson({ version: '3.0.0' }) }),
      await tarEntry({ name: './bin/swarm-agent', mode: 0o777, content: '#!/bin/sh\n' }),
      await tarEntry({ name: './bin/', type: 'directory', mode: 0o700 }),
      await tarEntry({ name: './secret', mode: 0o600, content: 's' }),
      await tarEntry({ name: `./${'long-dir-name/'.repeat(12)}file`, content: 'deep' }),
    ]);
    const { releaseIdOf } = await import('../../../shared/release/index.js');
    const installed = await sb.store.install({ body: Readable.from([tarball]), expectedId: releaseIdOf(tarball), limits: defaultLimits() });
    assert.equal((await lstat(join(installed.dir, 'bin', 'swarm-agent'))).mode & 0o7777, 0o755);
    assert.equal((await lstat(join(installed.dir, 'bin'))).mode & 0o7777, 0o755);
    assert.equal((await lstat(join(installed.dir, 'secret'))).mode & 0o7777, 0o600);
    assert.equal(await readFile(join(installed.dir, `${'long-dir-name/'.repeat(12)}file`), 'utf8'), 'deep');
  });

  it('accepts a harmless GNU long name (what GNU tar writes for paths over 100 bytes), checked by its full name', async () => {
    const long = `docs/${'a-very-long-directory-name/'.repeat(6)}readme.txt`;
    const tarball = gzipTar([
      ...(await validReleaseEntries()),
      gnuLong('L', long),
      rawHeader({ name: long.slice(0, 99), typeflag: '0', size: 5, gnu: true }),
      padded('hello'),
    ]);
    const { releaseIdOf } = await import('../../../shared/release/index.js');
    const installed = await sb.store.install({ body: Readable.from([tarball]), expectedId: releaseIdOf(tarball), limits: defaultLimits() });
    assert.equal(await readFile(join(installed.dir, long), 'utf8'), 'hello');
  });

  it('installs a release packed by GNU tar (./ prefixes, GNU long names, directory entries)', async () => {
    const src = join(sb.outer, 'src-gnu');
    await writeReleaseTree(src, { version: '6.0.0', files: 3, extra: { [`deep/${'x'.repeat(90)}/${'y'.repeat(90)}/f.txt`]: 'gnu' } });
    await symlink('swarm-agent', join(src, 'bin', 'agent-link'));
    const out = join(sb.outer, 'gnu.tgz');
    await promisify(execFile)('tar', ['--format=gnu', '-czf', out, '-C', src, '.']);
    const tarball = await readFile(out);
    const { releaseIdOf } = await import('../../../shared/release/index.js');
    const installed = await sb.store.install({ body: Readable.from([tarball]), expectedId: releaseIdOf(tarball), limits: defaultLimits() });
    assert.equal(installed.version, '6.0.0');
    assert.equal(await readFile(join(installed.dir, `deep/${'x'.repeat(90)}/${'y'.repeat(90)}/f.txt`), 'utf8'), 'gnu');
    assert.equal(await readlink(join(installed.dir, 'bin', 'agent-link')), 'swarm-agent');
  });

  it('returns the installed release for the same release again without reinstalling, but still checks the hash', async () => {
    const { tarball, id } = await buildGood();
    const first = await sb.store.install({ body: Readable.from([tarball]), expectedId: id, limits: defaultLimits() });
    const snap = await snapshot(sb.outer);
    const again = await sb.store.install({ body: Readable.from([tarball]), expectedId: id, limits: defaultLimits() });
    assert.deepEqual(again, first);
    assert.deepEqual(await snapshot(sb.outer), snap, 'nothing was rewritten');
    const corrupt = Buffer.from(tarball);
    corrupt[corrupt.length - 10] = corrupt[corrupt.length - 10]! ^ 0xff;
    await assert.rejects(sb.store.install({ body: Readable.from([corrupt]), expectedId: id, limits: defaultLimits() }), { code: 'SWARM_ERR_INSTALL_SHA256_MISMATCH' });
  });

  it('installs the same release twice at once exactly once', async () => {
    const { tarball, id } = await buildGood();
    const [a, b] = await Promise.all([
      sb.store.install({ body: Readable.from([tarball]), expectedId: id, limits: defaultLimits() }),
      sb.store.install({ body: Readable.from([tarball]), expectedId: id, limits: defaultLimits() }),
    ]);
    assert.equal(a.dir, b.dir);
    assert.deepEqual(await readdir(join(sb.root, 'staging')), []);
    assert.equal((await readdir(join(sb.root, 'releases'))).filter((n) => n.startsWith('1.2.3-')).length, 1);
  });

  it('refuses a release once it is marked bad, even when already installed', async () => {
    const { tarball, id } = await buildGood();
    await sb.store.install({ body: Readable.from([tarball]), expectedId: id, limits: defaultLimits() });
    await sb.store.markBad(id, 'agent crashed in the watch window');
    assert.equal(await sb.store.isBad(id), true);
    await assert.rejects(sb.store.install({ body: Readable.from([tarball]), expectedId: id, limits: defaultLimits() }), { code: 'SWARM_ERR_INSTALL_MARKED_BAD', status: 422 });
    const bad = await sb.store.listBad();
    assert.deepEqual(bad.map((b) => [b.id, b.reason]), [[id, 'agent crashed in the watch window']]);
    assert.equal((await sb.store.list()).find((r) => r.id === id)?.bad, true);
  });

  it('installs a signed release when a signing key is configured', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const { tarball, id } = await buildGood();
    const signature = signReleaseId(id, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const installed = await sb.store.install({
      body: Readable.from([tarball]), expectedId: id, signature, signingPublicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), limits: defaultLimits(),
    });
    assert.equal(installed.id, id);
  });

  it('stops and cleans staging when the client goes away mid-stream', async () => {
    const src = join(sb.outer, 'src-big');
    await writeReleaseTree(src, { version: '5.0.0', files: 200, fileBytes: 16 * 1024, content: 'random' });
    const { tarball, id } = await buildRelease(src, {});
    const ac = new AbortController();
    let sent = 0;
    const body = (async function* () {
      for (let off = 0; off < tarball.length; off += 16 * 1024) {
        if (off >= 512 * 1024) {
          ac.abort();
          await new Promise(() => undefined); // the client stalls: only the abort can end this
        }
        sent += 16 * 1024;
        yield tarball.subarray(off, off + 16 * 1024);
      }
    })();
    const releasesBefore = await readdir(join(sb.root, 'releases'));
    await assert.rejects(sb.store.install({ body, expectedId: id, limits: defaultLimits(), signal: ac.signal }), { code: 'SWARM_ERR_INSTALL_ABORTED' });
    assert.ok(sent < tarball.length);
    assert.deepEqual(await readdir(join(sb.root, 'staging')), []);
    assert.deepEqual(await readdir(join(sb.root, 'releases')), releasesBefore);
  });

  it('reports a body that fails mid-stream as aborted and cleans staging', async () => {
    const { tarball, id } = await buildGood();
    const body = new Readable({ read() {} });
    body.push(tarball.subarray(0, 200));
    setImmediate(() => body.destroy(new Error('socket hang up')));
    await assert.rejects(sb.store.install({ body, expectedId: id, limits: defaultLimits() }), { code: 'SWARM_ERR_INSTALL_ABORTED' });
    assert.deepEqual(await readdir(join(sb.root, 'staging')), []);
  });

  it('leaves the body undestroyed when it refuses a release mid-stream (the HTTP caller still answers)', async () => {
    const bad = gzipTar([await tarEntry({ name: '../evil', content: 'x' }), await tarEntry({ name: 'pad.bin', content: Buffer.alloc(512 * 1024, 3) })]);
    const { releaseIdOf } = await import('../../../shared/release/index.js');
    // A client still sending: the body never ends on its own.
    const body = new Readable({ read() {} });
    body.push(bad);
    await assert.rejects(sb.store.install({ body, expectedId: releaseIdOf(bad), limits: defaultLimits() }), { code: 'SWARM_ERR_TAR_PATH_TRAVERSAL' });
    assert.equal(body.destroyed, false);
  });
});
