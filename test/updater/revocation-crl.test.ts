// The CRL fallback alone: an updater whose channel is refused still learns a revocation from GET /v1/pki/crl.
import assert from 'node:assert/strict';
import { revokeIdentities } from '../../controller/context.js';
import { startInProcessController, type InProcessController } from '../controller/helpers.js';
import { openKeepAlive, within } from '../helpers/keep-alive.js';
import { mintIdentity } from '../helpers/pki.js';
import { eventually, makeHost, startUpdater, type RunningUpdater, type TestHost } from './helpers/host.js';

describe('updater: revocation from the CRL when the channel is down', function () {
  this.timeout(60_000);
  let ctl: InProcessController;
  let host: TestHost;
  let updater: RunningUpdater | undefined;

  before(async () => {
    // h1 is not an enrolled host of this controller: every channel upgrade is refused, the CRL is public.
    ctl = await startInProcessController({ heartbeatMs: 500 });
    host = await makeHost({ revocation: { crlRefreshMs: 200 } });
    updater = await startUpdater(host, { args: ['--controller', ctl.url] });
  });

  after(async () => {
    await updater?.stop();
    await host?.cleanup();
    await ctl?.close();
  });

  it('refuses and cuts a removed operator within a few CRL refreshes', async () => {
    const bob = await mintIdentity('operator', 'bob');
    await ctl.store.recordCertificate({ serial: bob.serial, role: 'operator', name: 'bob', notBefore: 0, notAfter: bob.material.notAfter, issuedAt: Date.now() });
    const live = await openKeepAlive(updater!.port, bob);
    assert.equal((await live.get('/v1/health')).status, 200);

    await revokeIdentities(ctl.context, [{ role: 'operator', name: 'bob' }]);
    await within(10_000, 'the updater to close bob\'s live connection', live.closed);
    const refused = await eventually(async () => {
      const c = await openKeepAlive(updater!.port, bob);
      const r = await c.get('/v1/health');
      c.destroy();
      return r.status === 403 ? r : undefined;
    }, 'a new connection of bob to be refused', 10_000);
    assert.equal(refused.body.code, 'SWARM_ERR_AUTH_REVOKED');
    assert.ok(!ctl.context.hub.isOpen('updater', 'h1'), 'the channel was never up');
    assert.ok(updater!.logs.some((l) => l.includes('"source":"crl"') && l.includes(bob.serial)), 'the CRL brought the revocation');
  });
});
