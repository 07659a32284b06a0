// Revocation reaches a real updater: a removed operator or a revoked controller certificate is refused on new
// connections (403 SWARM_ERR_AUTH_REVOKED) and its live keep-alive connection is cut; the list survives a restart.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { revokeIdentities } from '../../controller/context.js';
import { call as callController, clientFor, enrollDirectly, startInProcessController, waitFor, type InProcessController } from '../controller/helpers.js';
import { openKeepAlive, within } from '../helpers/keep-alive.js';
import { mintIdentity, type TestIdentity } from '../helpers/pki.js';
import { call, makeHost, startUpdater, updaterClient, type RunningUpdater, type TestHost } from './helpers/host.js';

async function record(ctl: InProcessController, id: TestIdentity, role: 'operator' | 'controller', name: string): Promise<void> {
  await ctl.store.recordCertificate({ serial: id.serial, role, name, notBefore: 0, notAfter: id.material.notAfter, issuedAt: Date.now() });
}

describe('updater: revocation pushed over the channel', function () {
  this.timeout(60_000);
  let ctl: InProcessController;
  let host: TestHost;
  let updater: RunningUpdater | undefined;
  let alice: TestIdentity | undefined;

  before(async () => {
    ctl = await startInProcessController({ heartbeatMs: 500 });
    await enrollDirectly(ctl.store, 'h1');
    host = await makeHost();
    updater = await startUpdater(host, { args: ['--controller', ctl.url] });
    await waitFor('the updater channel to open', async () => (ctl.context.hub.isOpen('updater', 'h1') ? true : undefined));
  });

  after(async () => {
    await updater?.stop();
    await host?.cleanup();
    await ctl?.close();
  });

  it('refuses a removed operator on new connections and closes its live keep-alive connection', async () => {
    alice = await mintIdentity('operator', 'alice');
    await record(ctl, alice, 'operator', 'alice');
    const live = await openKeepAlive(updater!.port, alice);
    assert.equal((await live.get('/v1/health')).status, 200, 'alice reads the health before her removal');

    const admin = await mintIdentity('operator', 'admin');
    const d = clientFor(admin.ca, admin.material);
    const removed = await callController(d, `${ctl.url}/v1/operators/alice`, 'DELETE');
    await d.close();
    assert.equal(removed.status, 200, JSON.stringify(removed.body));

    await within(10_000, 'the updater to close alice\'s live connection', live.closed);
    const again = await openKeepAlive(updater!.port, alice);
    const refused = await again.get('/v1/health');
    again.destroy();
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'SWARM_ERR_AUTH_REVOKED');
  });

  it('refuses a revoked controller certificate on the update route, and cuts its live connection', async () => {
    const old = await mintIdentity('controller', 'controller');
    await record(ctl, old, 'controller', 'controller');
    const live = await openKeepAlive(updater!.port, old);
    assert.equal((await live.get('/v1/releases')).status, 200);

    await revokeIdentities(ctl.context, [{ role: 'controller', name: 'controller' }]);
    await within(10_000, 'the updater to close the revoked controller\'s connection', live.closed);

    const { dispatcher } = await updaterClient(old);
    const r = await call(dispatcher, updater!.port, 'POST', '/v1/update', Buffer.from('not a release'), { 'x-swarm-release-sha256': 'a'.repeat(64) });
    await dispatcher.close();
    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'SWARM_ERR_AUTH_REVOKED');
    // The controller's current certificate (another serial) still works.
    const current = await updaterClient();
    assert.equal((await call(current.dispatcher, updater!.port, 'GET', '/v1/releases')).status, 200);
    await current.dispatcher.close();
  });

  it('keeps refusing after a restart without a controller (the denylist persists under state/)', async () => {
    const saved = JSON.parse(await readFile(join(host.installDir, 'state', 'revoked.json'), 'utf8')) as { serials: string[] };
    assert.ok(saved.serials.includes(alice!.serial), 'the removed operator\'s serial is on disk');
    await updater!.stop();
    updater = await startUpdater(host);
    const conn = await openKeepAlive(updater.port, alice!);
    const refused = await conn.get('/v1/health');
    conn.destroy();
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'SWARM_ERR_AUTH_REVOKED');
  });
});
