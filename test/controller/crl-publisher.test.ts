// The published CRL: a regeneration that finishes late never replaces a newer CRL.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CrlPublisher } from '../../controller/issuer.js';
import { openSqliteStore, type Store } from '../../controller/store/index.js';
import { verifyCrl } from '../../pki/index.js';
import { systemClock } from '../../shared/clock.js';
import { tempDir, testCa } from '../helpers/pki.js';

describe('CRL publisher', () => {
  it('keeps the newest CRL when an older regeneration finishes last', async () => {
    const dir = await tempDir('swarm-crl-');
    const store = openSqliteStore(join(dir.path, 'swarm.db'));
    try {
      const ca = await testCa('test');
      // The store's answer to the first regeneration arrives late, as a networked engine's can.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let calls = 0;
      const slow: Store = {
        ...store,
        nextCrl: async () => {
          const snapshot = await store.nextCrl();
          if (calls++ === 0) await gate;
          return snapshot;
        },
      };
      const crl = new CrlPublisher(ca, slow, systemClock);
      const now = Date.now();
      await store.recordCertificate({ serial: '0a1b2c', role: 'agent', name: 'h1', notBefore: now, notAfter: now + 60_000, issuedAt: now });
      const first = crl.regenerate(); // number 1: nothing revoked yet
      await store.revokeSerials(['0a1b2c'], now);
      await crl.regenerate(); // number 2: lists the serial
      release();
      await first;
      const published = await verifyCrl(crl.pem, ca.certPem);
      assert.equal(published.number, 2, 'the newest CRL stays published');
      assert.equal(published.serials.length, 1, 'the revoked serial stays listed');
    } finally {
      await store.close();
      await dir.cleanup();
    }
  });
});
