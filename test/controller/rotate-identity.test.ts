// swarm-controller rotate-identity: a new controller certificate, the old serial revoked and in the served CRL.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { Agent, request } from 'undici';
import { openSqliteStore } from '../../controller/store/index.js';
import { verifyCrl } from '../../pki/index.js';
import { LIMITS } from '../../shared/limits.js';
import { tempDir } from '../helpers/pki.js';
import { CONTROLLER_BIN, runBin, spawnServe } from './helpers.js';

describe('swarm-controller rotate-identity', function () {
  this.timeout(60_000);

  it('issues a new controller certificate, revokes the old one, and serve publishes it in the CRL', async () => {
    const dir = await tempDir('swarm-rotate-');
    try {
      const stateDir = join(dir.path, 'state');
      assert.equal((await runBin(CONTROLLER_BIN, ['init', '--state-dir', stateDir, '--cluster', 'rot', '--san', '127.0.0.1'])).code, 0);
      const crtPath = join(stateDir, 'pki', 'controller.crt');
      const before = new X509Certificate(await readFile(crtPath, 'utf8'));
      const lifetime = Date.parse(before.validTo) - Date.parse(before.validFrom);
      assert.ok(lifetime <= LIMITS['revocation.controllerCertLifetime'].value + 10 * 60_000, 'the controller certificate is short-lived');

      const r = await runBin(CONTROLLER_BIN, ['rotate-identity', '--state-dir', stateDir]);
      assert.equal(r.code, 0, r.stderr);
      const after = new X509Certificate(await readFile(crtPath, 'utf8'));
      const oldSerial = before.serialNumber.toLowerCase();
      assert.notEqual(after.serialNumber.toLowerCase(), oldSerial);
      assert.match(r.stdout, new RegExp(`revoked ${oldSerial}`));
      assert.ok(after.subjectAltName?.includes('127.0.0.1'), 'same SANs');

      const store = openSqliteStore(join(stateDir, 'swarm.db'));
      const certs = await store.listCertificates({ role: 'controller', name: 'controller' });
      await store.close();
      assert.ok(certs.find((c) => c.serial === oldSerial)?.revokedAt, 'old serial revoked in the store');
      assert.equal(certs.find((c) => c.serial === after.serialNumber.toLowerCase())?.revokedAt, null);

      const serve = await spawnServe(stateDir);
      try {
        const ca = await readFile(join(stateDir, 'pki', 'ca.crt'), 'utf8');
        const d = new Agent({ connect: { ca, rejectUnauthorized: true, checkServerIdentity: () => undefined } });
        const res = await request(`${serve.url}/v1/pki/crl`, { dispatcher: d });
        const crl = await verifyCrl(await res.body.text(), ca);
        await d.close();
        assert.ok(crl.serials.includes(oldSerial), 'the CRL lists the old controller serial');
      } finally {
        await serve.stop();
      }
    } finally {
      await dir.cleanup();
    }
  });
});
