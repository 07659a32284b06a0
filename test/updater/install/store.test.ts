// The release store: links by rename, readLinks robust to missing or dangling links, prune, bad marks, init.
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buildRelease } from '../../../shared/release/index.js';
import { ReleaseStore, type InstalledRelease } from '../../../updater/install/index.js';
import { tempDir } from '../../helpers/pki.js';
import { writeReleaseTree } from '../../helpers/releases.js';
import { defaultLimits } from './sandbox.js';

describe('updater/install: release store', () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  let store: ReleaseStore;
  let clock: number;
  const root = (): string => join(tmp.path, 'host');

  beforeEach(async () => {
    tmp = await tempDir('swarm-store-');
    clock = Date.parse('2026-01-01T00:00:00Z');
    store = new ReleaseStore({ root: root(), stagingDir: join(root(), 'staging'), stateDir: join(root(), 'state'), now: () => new Date((clock += 1000)) });
    await store.init();
  });
  afterEach(() => tmp.cleanup());

  async function install(version: string): Promise<InstalledRelease> {
    const src = join(tmp.path, `src-${version}`);
    await writeReleaseTree(src, { version });
    const { tarball, id } = await buildRelease(src, {});
    return store.install({ body: Readable.from([tarball]), expectedId: id, limits: defaultLimits() });
  }

  it('points prev then active with relative symlinks and reads them back', async () => {
    const a = await install('1.0.0');
    const b = await install('2.0.0');
    assert.deepEqual(await store.readLinks(), { active: null, prev: null });
    await store.setLinks({ active: a.dirName, prev: null });
    assert.equal(await readlink(join(root(), 'active')), `releases/${a.dirName}`);
    await store.setLinks({ active: b.dirName, prev: a.dirName });
    assert.equal(await readlink(join(root(), 'active')), `releases/${b.dirName}`);
    assert.equal(await readlink(join(root(), 'prev')), `releases/${a.dirName}`);
    const links = await store.readLinks();
    assert.equal(links.active?.id, b.id);
    assert.equal(links.prev?.id, a.id);
    await store.setLinks({ active: a.dirName, prev: null });
    assert.equal((await store.readLinks()).prev, null);
    await assert.rejects(lstat(join(root(), 'prev')), { code: 'ENOENT' });
    assert.deepEqual((await readdir(root())).sort(), ['active', 'releases', 'staging', 'state']);
  });

  it('refuses links to releases that are not installed (or incomplete)', async () => {
    const a = await install('1.0.0');
    await assert.rejects(store.setLinks({ active: '9.9.9-aaaaaaaaaaaa', prev: null }), { code: 'SWARM_ERR_INSTALL_RELEASE_UNKNOWN' });
    await assert.rejects(store.setLinks({ active: a.dirName, prev: '../../etc' }), { code: 'SWARM_ERR_INSTALL_RELEASE_UNKNOWN' });
    await mkdir(join(root(), 'releases', '3.0.0-bbbbbbbbbbbb'));
    await assert.rejects(store.setLinks({ active: '3.0.0-bbbbbbbbbbbb', prev: null }), { code: 'SWARM_ERR_INSTALL_RELEASE_UNKNOWN' });
    assert.deepEqual(await store.readLinks(), { active: null, prev: null });
  });

  it('reads missing, dangling, foreign and non-symlink links as null', async () => {
    const a = await install('1.0.0');
    await store.setLinks({ active: a.dirName, prev: a.dirName });
    await symlink('releases/0.0.1-cccccccccccc', join(root(), 'prev.tmp'));
    await rm(join(root(), 'prev'));
    await symlink('releases/0.0.1-cccccccccccc', join(root(), 'prev'));
    assert.equal((await store.readLinks()).prev, null, 'dangling');
    await rm(join(root(), 'prev'));
    await symlink('/etc', join(root(), 'prev'));
    assert.equal((await store.readLinks()).prev, null, 'outside releases/');
    await rm(join(root(), 'prev'));
    await writeFile(join(root(), 'prev'), 'not a link');
    assert.equal((await store.readLinks()).prev, null, 'a regular file');
    assert.equal((await store.readLinks()).active?.id, a.id);
    const listed = await store.list();
    assert.deepEqual(listed.map((r) => [r.dirName, r.active, r.prev, r.bad]), [[a.dirName, true, false, false]]);
  });

  it('prunes the oldest releases beyond keep but never active or prev, even when they are the oldest', async () => {
    const r1 = await install('1.0.0');
    const r2 = await install('2.0.0');
    const r3 = await install('3.0.0');
    const r4 = await install('4.0.0');
    const r5 = await install('5.0.0');
    await store.setLinks({ active: r2.dirName, prev: r1.dirName });
    const deleted = await store.prune(3);
    assert.deepEqual(deleted, [r3.dirName, r4.dirName]);
    assert.deepEqual((await store.list()).map((r) => r.dirName), [r1.dirName, r2.dirName, r5.dirName]);
    assert.deepEqual(await store.prune(1), [r5.dirName]);
    assert.deepEqual(await store.prune(0), [], 'active and prev stay even past keep');
    assert.deepEqual((await readdir(join(root(), 'releases'))).sort(), [r1.dirName, r2.dirName].sort());
    assert.deepEqual(await readdir(join(root(), 'staging')), []);
    assert.equal((await store.readLinks()).active?.id, r2.id);
  });

  it('prunes releases marked bad before older good ones, and they stay refused', async () => {
    const r1 = await install('1.0.0');
    const r2 = await install('2.0.0');
    const r3 = await install('3.0.0');
    const r4 = await install('4.0.0');
    await store.setLinks({ active: r4.dirName, prev: r2.dirName });
    await store.markBad(r3.id, 'rolled back');
    assert.deepEqual(await store.prune(3), [r3.dirName], 'the bad release goes, the older good one stays');
    assert.deepEqual((await store.list()).map((r) => r.dirName), [r1.dirName, r2.dirName, r4.dirName]);
    assert.equal(await store.isBad(r3.id), true);
  });

  it('keeps bad marks durably, lists them, and survives a new store instance', async () => {
    const a = await install('1.0.0');
    await Promise.all([store.markBad(a.id, 'first'), store.markBad('f'.repeat(64), 'other'), store.markBad(a.id, 'second')]);
    const again = new ReleaseStore({ root: root(), stagingDir: join(root(), 'staging'), stateDir: join(root(), 'state') });
    const marks = await again.listBad();
    assert.deepEqual(marks.map((m) => [m.id, m.reason]).sort(), [[a.id, 'second'], ['f'.repeat(64), 'other']].sort());
    assert.equal(await again.isBad(a.id), true);
    assert.equal(await again.isBad('e'.repeat(64)), false);
    await assert.rejects(store.markBad('nope', 'x'), { code: 'SWARM_ERR_INSTALL_ID_INVALID' });
    await writeFile(join(root(), 'state', 'bad-releases.json'), '{broken');
    await assert.rejects(store.isBad(a.id), { code: 'SWARM_ERR_INSTALL_STATE_CORRUPT' });
  });

  it('init empties staging and removes temp links a crash left, keeping releases and links', async () => {
    const a = await install('1.0.0');
    await store.setLinks({ active: a.dirName, prev: null });
    await mkdir(join(root(), 'staging', 'install-leftover', 'deep'), { recursive: true });
    await writeFile(join(root(), 'staging', 'install-leftover', 'deep', 'f'), 'x');
    await symlink(`releases/${a.dirName}`, join(root(), '.swarm-link-active-0123456789ab'));
    await store.init();
    assert.deepEqual(await readdir(join(root(), 'staging')), []);
    assert.deepEqual((await readdir(root())).sort(), ['active', 'releases', 'staging', 'state']);
    assert.equal((await store.readLinks()).active?.id, a.id);
  });

  it('lists only complete releases, oldest first, and gets them by id or directory name', async () => {
    const a = await install('1.0.0');
    const b = await install('2.0.0');
    await mkdir(join(root(), 'releases', '7.0.0-dddddddddddd'));
    await mkdir(join(root(), 'releases', '.hidden'));
    assert.deepEqual((await store.list()).map((r) => r.dirName), [a.dirName, b.dirName]);
    assert.equal((await store.get(b.id))?.dirName, b.dirName);
    assert.equal((await store.get(b.dirName))?.id, b.id);
    assert.equal(await store.get('7.0.0-dddddddddddd'), undefined);
    assert.equal(await store.get('../../etc'), undefined);
    assert.equal(await store.get('0'.repeat(64)), undefined);
  });
});
