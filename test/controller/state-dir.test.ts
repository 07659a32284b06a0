// The state directory: init lays it out once; load renews the controller's own certificate when < 1/3 is left.
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { initStateDir, loadStateDir, openSqliteStore } from '../../controller/index.js';
import { CONTROLLER_LIFETIME_MS, issueOperatorLocally } from '../../controller/state-dir.js';
import { loadTlsMaterial } from '../../shared/tls.js';
import { tempDir } from '../helpers/pki.js';

describe('controller state directory', () => {
  it('renews the controller certificate at start when less than a third of its life is left, keeping its SANs; issues a break-glass operator', async () => {
    const dir = await tempDir('swarm-state-');
    try {
      const stateDir = join(dir.path, 's');
      // Initialised 80% of the controller certificate's lifetime ago.
      await initStateDir({ stateDir, cluster: 'old', sans: ['ctl.example', '10.1.2.3'], now: Date.now() - 0.8 * CONTROLLER_LIFETIME_MS });
      const first = await loadStateDir(stateDir);
      assert.equal(first.renewed, true);
      assert.ok(first.material.notAfter > Date.now() + 0.9 * CONTROLLER_LIFETIME_MS);
      assert.deepEqual(first.material.identity, { cluster: 'old', role: 'controller', name: 'controller' });
      const { X509Certificate } = await import('node:crypto');
      assert.match(new X509Certificate(first.material.cert).subjectAltName ?? '', /DNS:ctl\.example.*IP Address:10\.1\.2\.3/);
      assert.ok((await first.store.listCertificates({ role: 'controller' })).length === 2, 'the renewal is on record');
      await first.store.close();
      const second = await loadStateDir(stateDir);
      assert.equal(second.renewed, false, 'a fresh certificate is left alone');
      assert.equal(second.material.serial, first.material.serial);
      // A revoked certificate on disk (a rotation cut short, a restored backup) is replaced at start: hosts refuse it.
      await second.store.revokeIdentity('controller', 'controller', Date.now());
      await second.store.close();
      const third = await loadStateDir(stateDir);
      assert.equal(third.renewed, true, 'a revoked certificate is replaced');
      assert.notEqual(third.material.serial, first.material.serial);
      assert.equal((await third.store.getCertificate(third.material.serial))?.revokedAt, null);
      await third.store.close();
      // Break-glass: a local operator identity, recorded and audited.
      const out = join(dir.path, 'rescue');
      const r = await issueOperatorLocally({ stateDir, name: 'rescue', outDir: out });
      const m = await loadTlsMaterial(out, 'operator', 'old');
      assert.equal(m.serial, r.serial);
      const store = openSqliteStore(join(stateDir, 'swarm.db'));
      assert.equal((await store.getCertificate(r.serial))?.name, 'rescue');
      assert.equal((await store.listAudit()).at(-1)?.action, 'operator.issue-local');
      await store.close();
      await assert.rejects(issueOperatorLocally({ stateDir, name: 'rescue2', outDir: out }), /already exists/);
    } finally {
      await dir.cleanup();
    }
  });
});

describe('controller state directory permissions', function () {
  this.timeout(30_000);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let umask: number;
  beforeEach(async () => {
    dir = await tempDir('swarm-state-perms-');
    umask = process.umask(0o022); // the usual umask, which made swarm.db 0644
  });
  afterEach(async () => {
    process.umask(umask);
    await dir.cleanup();
  });
  const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;
  const refusedWith = (pattern: RegExp) => (err: Error & { code?: string }) => err.code === 'SWARM_ERR_STATE_DIR_PERMISSIONS' && pattern.test(err.message);

  it('init into an existing 0755 directory keeps the database, its journals and pki/ private', async () => {
    const stateDir = join(dir.path, 's');
    await mkdir(stateDir, { mode: 0o755 });
    await chmod(stateDir, 0o755);
    await initStateDir({ stateDir, cluster: 'perm', sans: [] });
    // Open it again as serve does: the journals exist while the database is open.
    const loaded = await loadStateDir(stateDir);
    try {
      for (const f of (await readdir(stateDir)).filter((n) => n.startsWith('swarm.db'))) assert.equal(await mode(join(stateDir, f)), 0o600, `${f} is private`);
      assert.ok((await readdir(stateDir)).includes('swarm.db-wal'), 'the WAL journal was checked too');
      assert.equal(await mode(join(stateDir, 'pki')), 0o700);
      assert.equal(await mode(join(stateDir, 'pki', 'ca.key')), 0o600);
    } finally {
      await loaded.store.close();
    }
  });

  it('init refuses a group- or world-writable directory, and a parent others can write without the sticky bit', async () => {
    const open = join(dir.path, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    await assert.rejects(initStateDir({ stateDir: open, cluster: 'perm', sans: [] }), refusedWith(/chmod 700/));
    assert.deepEqual(await readdir(open), [], 'nothing was written');
    await assert.rejects(initStateDir({ stateDir: join(open, 'inner'), cluster: 'perm', sans: [] }), refusedWith(/sticky/));
    // /tmp-like: world-writable but sticky (and root-owned) is fine for a directory of ours inside it.
    await chmod(open, 0o1777);
    await initStateDir({ stateDir: join(open, 'inner'), cluster: 'perm', sans: [] });
  });

  it('serve refuses a 0777 state directory, a pki/ or key owned by another user, and a parent owned by another user', async function () {
    if (process.getuid?.() !== 0) this.skip(); // chown to another user needs root (the CI sandbox is root)
    const parent = join(dir.path, 'p');
    const stateDir = join(parent, 's');
    await mkdir(parent, { mode: 0o755 });
    await initStateDir({ stateDir, cluster: 'perm', sans: [] });
    await (await loadStateDir(stateDir)).store.close(); // the good case loads

    await chmod(stateDir, 0o777);
    await assert.rejects(loadStateDir(stateDir), refusedWith(/writable by other users.*chmod 700/));
    await chmod(stateDir, 0o700);

    const nobody = 65534;
    const pki = join(stateDir, 'pki');
    await chown(pki, nobody, nobody);
    await assert.rejects(loadStateDir(stateDir), refusedWith(/belongs to uid 65534.*chown/));
    await chown(pki, 0, 0);

    await chown(join(pki, 'ca.key'), nobody, nobody);
    await assert.rejects(loadStateDir(stateDir), refusedWith(/ca\.key belongs to uid 65534/));
    await chown(join(pki, 'ca.key'), 0, 0);

    await chown(parent, nobody, nobody);
    await assert.rejects(loadStateDir(stateDir), refusedWith(/parent of the state directory, belongs to uid 65534/));
    await chown(parent, 0, 0);
    await (await loadStateDir(stateDir)).store.close();
  });
});
