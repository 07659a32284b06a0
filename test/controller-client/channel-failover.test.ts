// A host given several controller URLs (replicas): the channel fails over round-robin, backs off per round, and
// renewal and CRL fetches go where the channel is up. Real TLS, two in-process controllers on loopback.
import assert from 'node:assert/strict';
import { startChannelClient } from '../../controller-client/channel-client.js';
import { failedToConnect } from '../../controller-client/controller-urls.js';
import { fetchCrl } from '../../controller-client/crl-refresh.js';
import { systemClock, type Clock } from '../../shared/clock.js';
import { silentLogger } from '../../shared/logger.js';
import { freePort } from '../helpers/ports.js';
import { mintIdentity } from '../helpers/pki.js';
import { agentHealth, enrollDirectly, startInProcessController, waitFor, type InProcessController } from '../controller/helpers.js';

describe('channel client: several controller URLs (real TLS)', function () {
  this.timeout(30_000);

  it('connects to the second URL when the first is dead, and back to the first when the second stops', async () => {
    const agent = await mintIdentity('agent', 'fo1');
    const firstPort = await freePort();
    const first = `https://127.0.0.1:${firstPort}`;
    let a: InProcessController | undefined;
    const b = await startInProcessController({ heartbeatMs: 200 });
    await enrollDirectly(b.store, 'fo1');
    const connects: string[] = [];
    const errors: string[] = [];
    const client = startChannelClient({
      controllerUrl: [first, b.url], role: 'agent', material: () => agent.material, report: () => agentHealth('e'.repeat(64)), logger: silentLogger(),
      backoffBaseMs: 50, backoffCapMs: 200,
      onConnect: (url) => connects.push(url),
      onConnectError: (_err, url) => errors.push(url),
    });
    try {
      await waitFor('the channel up on the second controller', async () => (connects.length === 1 ? true : undefined));
      assert.deepEqual(connects, [b.url]);
      assert.ok(errors.includes(first), 'the dead first URL was tried');
      assert.equal(client.controllerUrl, b.url);
      // Renewal and CRL fetches go to the controller whose channel is up, first.
      assert.deepEqual(client.controllerUrls(), [b.url, first]);
      await waitFor('a report at the second controller', async () => (b.context.reports.get('fo1')?.agent ? true : undefined));
      assert.match(await fetchCrl([first, b.url], agent.material, () => false), /BEGIN X509 CRL/);

      await b.close();
      await waitFor('the channel down', async () => (client.connected ? undefined : true));
      a = await startInProcessController({ heartbeatMs: 200 }, firstPort);
      await enrollDirectly(a.store, 'fo1');
      await waitFor('the channel up on the first controller', async () => (connects.length === 2 ? true : undefined));
      assert.deepEqual(connects, [b.url, first]);
      assert.equal(client.controllerUrl, first);
      await waitFor('a report at the first controller', async () => (a!.context.reports.get('fo1')?.agent ? true : undefined));
    } finally {
      await client.close();
      await a?.close();
      await b.close().catch(() => undefined);
    }
  });

  it('tries each URL once per round and backs off only after a whole round failed', async () => {
    const agent = await mintIdentity('agent', 'fo2');
    const urls = [`https://127.0.0.1:${await freePort()}`, `https://127.0.0.1:${await freePort()}`];
    const delays: number[] = [];
    const tried: string[] = [];
    const clock: Clock = { ...systemClock, setTimeout: (fn, ms) => (delays.push(ms), systemClock.setTimeout(fn, ms)) };
    const client = startChannelClient({
      controllerUrl: urls, role: 'agent', material: () => agent.material, report: () => agentHealth(), logger: silentLogger(), clock,
      backoffBaseMs: 100, backoffCapMs: 400, random: () => 0.5,
      onConnectError: (_err, url) => tried.push(url),
    });
    try {
      await waitFor('three rounds of failures', async () => (delays.length >= 6 ? true : undefined));
      // Full jitter (random pinned at 0.5) on the round count: 0 ms to the next URL of a round, then 50, 100, 200 ms.
      assert.deepEqual(delays.slice(0, 6), [0, 50, 0, 100, 0, 200]);
      assert.deepEqual(tried.slice(0, 6), [urls[0], urls[1], urls[0], urls[1], urls[0], urls[1]]);
    } finally {
      await client.close();
    }
  });

  it('judges which failures may go to another controller: only those before the request was sent', () => {
    assert.equal(failedToConnect(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })), true);
    assert.equal(failedToConnect(Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' })), true);
    assert.equal(failedToConnect(new Error('wrapped', { cause: Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }) })), true);
    assert.equal(failedToConnect(Object.assign(new Error('Client network socket disconnected before secure TLS connection was established'), { code: 'ECONNRESET' })), true);
    assert.equal(failedToConnect(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })), false);
    assert.equal(failedToConnect(Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' })), false);
    assert.equal(failedToConnect(new Error('no such host')), false);
  });
});
