// Revocation reaches a real agent: a revoked controller certificate is refused on /v1/health (403
// SWARM_ERR_AUTH_REVOKED) and its live keep-alive connection is cut, from the channel's push.
import assert from 'node:assert/strict';
import { revokeIdentities } from '../../controller/context.js';
import { enrollDirectly, startInProcessController, waitFor, type InProcessController } from '../controller/helpers.js';
import { openKeepAlive, within } from '../helpers/keep-alive.js';
import { mintIdentity } from '../helpers/pki.js';
import { makeFixture, nodeService, spawnAgent, writeRelease, type Fixture, type SpawnedAgent } from './helpers.js';

describe('swarm-agent: revocation pushed over the channel', function () {
  this.timeout(60_000);
  let ctl: InProcessController;
  let fx: Fixture;
  let agent: SpawnedAgent | undefined;

  before(async () => {
    ctl = await startInProcessController({ heartbeatMs: 500 });
    await enrollDirectly(ctl.store, 'h1');
    fx = await makeFixture('h1');
    await writeRelease(fx.releaseDir, [{ name: 'idle', command: nodeService('setInterval(() => {}, 1000)') }]);
  });

  after(async () => {
    agent?.kill();
    await agent?.exited;
    await fx?.cleanup();
    await ctl?.close();
  });

  it('refuses a revoked controller certificate and closes its live connection', async () => {
    agent = spawnAgent(['run', '--pki-dir', fx.pkiDir, '--listen', '127.0.0.1:0', '--controller', ctl.url], { cwd: fx.releaseDir });
    const ready = await agent.waitForLog((l) => l.msg === 'agent ready');
    const port = Number(String(ready.listen).split(':').pop());
    await waitFor('the agent channel to open', async () => (ctl.context.hub.isOpen('agent', 'h1') ? true : undefined));

    const old = await mintIdentity('controller', 'controller');
    await ctl.store.recordCertificate({ serial: old.serial, role: 'controller', name: 'controller', notBefore: 0, notAfter: old.material.notAfter, issuedAt: Date.now() });
    const live = await openKeepAlive(port, old);
    assert.equal((await live.get('/v1/health')).status, 200);

    await revokeIdentities(ctl.context, [{ role: 'controller', name: 'controller' }]);
    await within(10_000, 'the agent to close the revoked controller\'s connection', live.closed);
    const again = await openKeepAlive(port, old);
    const refused = await again.get('/v1/health');
    again.destroy();
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'SWARM_ERR_AUTH_REVOKED');
    // The updater of the same host is not affected.
    const updater = await mintIdentity('updater', 'h1');
    const ok = await openKeepAlive(port, updater);
    assert.equal((await ok.get('/v1/health')).status, 200);
    ok.destroy();
  });
});
