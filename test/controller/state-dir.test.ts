// The state directory: init lays it out once; load renews the controller's own certificate when < 1/3 is left.
import assert from 'node:assert/strict';
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
      assert.ok(first.store.listCertificates({ role: 'controller' }).length === 2, 'the renewal is on record');
      first.store.close();
      const second = await loadStateDir(stateDir);
      assert.equal(second.renewed, false, 'a fresh certificate is left alone');
      assert.equal(second.material.serial, first.material.serial);
      // A revoked certificate on disk (a rotation cut short, a restored backup) is replaced at start: hosts refuse it.
      second.store.revokeIdentity('controller', 'controller', Date.now());
      second.store.close();
      const third = await loadStateDir(stateDir);
      assert.equal(third.renewed, true, 'a revoked certificate is replaced');
      assert.notEqual(third.material.serial, first.material.serial);
      assert.equal(third.store.getCertificate(third.material.serial)?.revokedAt, null);
      third.store.close();
      // Break-glass: a local operator identity, recorded and audited.
      const out = join(dir.path, 'rescue');
      const r = await issueOperatorLocally({ stateDir, name: 'rescue', outDir: out });
      const m = await loadTlsMaterial(out, 'operator', 'old');
      assert.equal(m.serial, r.serial);
      const store = openSqliteStore(join(stateDir, 'swarm.db'));
      assert.equal(store.getCertificate(r.serial)?.name, 'rescue');
      assert.equal(store.listAudit().at(-1)?.action, 'operator.issue-local');
      store.close();
      await assert.rejects(issueOperatorLocally({ stateDir, name: 'rescue2', outDir: out }), /already exists/);
    } finally {
      await dir.cleanup();
    }
  });
});
