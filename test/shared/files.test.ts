// Key files: written 0600 in 0700 dirs, atomically; keys others can read are refused; PKI dirs load and check their pairs.
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertNoIdentity, writeIdentityFiles } from '../../pki/index.js';
import { readPrivateKeyFile, writeFileAtomic } from '../../shared/files.js';
import { loadTlsMaterial } from '../../shared/tls.js';
import { mintIdentity, tempDir } from '../helpers/pki.js';

describe('key and certificate files', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(() => dir.cleanup());

  it('writes keys 0600 in a 0700 directory and loads the identity back', async () => {
    const id = await mintIdentity('agent', 'h1');
    const pki = join(dir.path, 'pki');
    await writeIdentityFiles(pki, 'agent', { caPem: id.ca, certPem: id.cert, keyPem: id.key });
    assert.equal((await stat(pki)).mode & 0o777, 0o700);
    assert.equal((await stat(join(pki, 'agent.key'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(pki, 'agent.crt'))).mode & 0o777, 0o644);
    assert.deepEqual((await readdir(pki)).sort(), ['agent.crt', 'agent.key', 'ca.crt'], 'no temp files left behind');
    const m = await loadTlsMaterial(pki, 'agent', 'test');
    assert.deepEqual(m.identity, { cluster: 'test', role: 'agent', name: 'h1' });
    assert.equal(m.serial, id.serial);
  });

  it('refuses a key, or a key directory, that belongs to another user (not us, not root)', async function () {
    if (process.getuid?.() !== 0) this.skip(); // chown to another user needs root (the CI sandbox is root)
    const id = await mintIdentity('agent', 'h1');
    const pki = join(dir.path, 'pki');
    await writeIdentityFiles(pki, 'agent', { caPem: id.ca, certPem: id.cert, keyPem: id.key });
    await chown(join(pki, 'agent.key'), 65534, 65534);
    await assert.rejects(readPrivateKeyFile(join(pki, 'agent.key')), (err: Error & { code?: string }) => err.code === 'SWARM_ERR_KEY_PERMISSIONS' && /belongs to uid 65534.*chown/.test(err.message));
    await chown(join(pki, 'agent.key'), 0, 0);
    await chown(pki, 65534, 65534);
    await assert.rejects(readPrivateKeyFile(join(pki, 'agent.key')), (err: Error & { code?: string }) => err.code === 'SWARM_ERR_KEY_PERMISSIONS' && /directory .* belongs to uid 65534/.test(err.message));
  });

  it('refuses a key readable by others, and a key directory writable by others', async () => {
    const id = await mintIdentity('agent', 'h1');
    const pki = join(dir.path, 'pki');
    await writeIdentityFiles(pki, 'agent', { caPem: id.ca, certPem: id.cert, keyPem: id.key });
    await chmod(join(pki, 'agent.key'), 0o644);
    await assert.rejects(loadTlsMaterial(pki, 'agent'), (err: Error & { code?: string }) => err.code === 'SWARM_ERR_KEY_PERMISSIONS' && /chmod 600/.test(err.message));
    await chmod(join(pki, 'agent.key'), 0o600);
    await chmod(pki, 0o777);
    await assert.rejects(readPrivateKeyFile(join(pki, 'agent.key')), { code: 'SWARM_ERR_KEY_PERMISSIONS' });
  });

  it('refuses a key that does not belong to the certificate, and a missing file, with actionable errors', async () => {
    const a = await mintIdentity('agent', 'h1');
    const b = await mintIdentity('agent', 'h2', { freshKey: true });
    const pki = join(dir.path, 'pki');
    await writeIdentityFiles(pki, 'agent', { caPem: a.ca, certPem: a.cert, keyPem: b.key });
    await assert.rejects(loadTlsMaterial(pki, 'agent'), { code: 'SWARM_ERR_TLS_FILE_INVALID' });
    await assert.rejects(loadTlsMaterial(pki, 'updater'), { code: 'SWARM_ERR_TLS_FILE_MISSING' });
  });

  it('never changes the mode of an existing directory (a home dir given as --out) and refuses one others can write', async () => {
    const id = await mintIdentity('operator', 'alice');
    const home = join(dir.path, 'home');
    await mkdir(home, { mode: 0o755 });
    await chmod(home, 0o755);
    await writeIdentityFiles(home, 'operator', { caPem: id.ca, certPem: id.cert, keyPem: id.key });
    assert.equal((await stat(home)).mode & 0o777, 0o755, 'existing directory keeps its mode');
    assert.equal((await stat(join(home, 'operator.key'))).mode & 0o777, 0o600);
    const open = join(dir.path, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    await assert.rejects(writeIdentityFiles(open, 'operator', { caPem: id.ca, certPem: id.cert, keyPem: id.key }), { code: 'SWARM_ERR_KEY_PERMISSIONS' });
    assert.deepEqual(await readdir(open), [], 'nothing written into it');
  });

  it('refuses to overwrite an existing identity', async () => {
    const id = await mintIdentity('agent', 'h1');
    await writeIdentityFiles(dir.path, 'agent', { caPem: id.ca, certPem: id.cert, keyPem: id.key });
    await assert.rejects(assertNoIdentity(dir.path, ['agent']), { code: 'SWARM_ERR_PKI_EXISTS' });
    await assertNoIdentity(join(dir.path, 'empty'), ['agent']);
  });

  it('replaces files atomically with the requested mode regardless of umask', async () => {
    const path = join(dir.path, 'f');
    await writeFile(path, 'old');
    await writeFileAtomic(path, 'new', 0o640);
    assert.equal((await stat(path)).mode & 0o777, 0o640);
    assert.deepEqual(await readdir(dir.path), ['f']);
  });
});
