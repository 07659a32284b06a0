// One operation at a time (409 with the running id), and a client that drops mid-update still finds the outcome.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { Dispatcher } from 'undici';
import { mintIdentity } from '../helpers/pki.js';
import { buildAgentRelease } from './helpers/agent-release.js';
import { agentHealth, call, eventually, makeHost, sendRelease, startUpdater, updaterClient, type RunningUpdater, type TestHost } from './helpers/host.js';

describe('updater: concurrent and dropped requests', function () {
  this.timeout(60_000);
  let host: TestHost;
  let updater: RunningUpdater;
  let client: Dispatcher;

  before(async () => {
    host = await makeHost();
    updater = await startUpdater(host);
    client = (await updaterClient()).dispatcher;
    assert.equal((await sendRelease(client, updater.port, await buildAgentRelease('1.0.0'))).status, 200);
  });

  after(async () => {
    await client?.close();
    await updater?.stop();
    await host?.cleanup();
  });

  it('runs one update at a time: the second gets 409 with the running id; the same release joins the running one', async () => {
    const [a, b] = await Promise.all([buildAgentRelease('2.0.0'), buildAgentRelease('2.1.0')]);
    const first = sendRelease(client, updater.port, a);
    const running = await eventually(async () => {
      const h = await call(client, updater.port, 'GET', '/v1/health');
      return typeof h.body.running === 'string' ? h.body.running : undefined;
    }, 'the first update to start');
    const [second, same] = await Promise.all([sendRelease(client, updater.port, b), sendRelease(client, updater.port, a)]);
    assert.equal(second.status, 409);
    assert.equal(second.body.code, 'SWARM_ERR_UPDATER_BUSY');
    assert.deepEqual(second.body.details, { running });
    const done = await first;
    assert.equal(done.status, 200);
    assert.equal(done.body.id, running);
    assert.equal(same.status, 200, 'the same release sent while applied returns that operation\'s outcome');
    assert.equal(same.body.id, running);
    assert.equal((await agentHealth(host)).release, a.id);
  });

  it('finishes an update whose client dropped after sending the body; the outcome is at /v1/operations/<id>', async () => {
    const rel = await buildAgentRelease('3.0.0');
    const controller = await mintIdentity('controller', 'controller');
    // A raw TLS client: send the whole request, then hang up (mid-update: during the switch and probes).
    const socket = await new Promise<ReturnType<typeof connect>>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: updater.port, ca: controller.ca, cert: controller.cert, key: controller.key, checkServerIdentity: () => undefined }, () => {
        s.write(`POST /v1/update HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/gzip\r\ncontent-length: ${rel.tarball.length}\r\nx-swarm-release-sha256: ${rel.id}\r\n\r\n`);
        s.write(rel.tarball, () => resolve(s));
      });
      s.once('error', reject);
    });
    await eventually(async () => {
      const latest = (await call(client, updater.port, 'GET', '/v1/operations/latest')).body as { release?: { id: string }; steps?: Array<{ step: string }> };
      return latest.release?.id === rel.id && latest.steps?.some((x) => x.step === 'installed') ? true : undefined;
    }, 'the body to be received and installed');
    socket.destroy();
    const record = await eventually(async () => {
      const latest = await call(client, updater.port, 'GET', '/v1/operations/latest');
      const body = latest.body as { release?: { id: string }; state?: string; id?: string };
      return body.release?.id === rel.id && body.state !== 'running' ? body : undefined;
    }, 'the dropped update to finish');
    assert.equal(record.state, 'committed');
    const byId = await call(client, updater.port, 'GET', `/v1/operations/${record.id!}`);
    assert.equal(byId.body.state, 'committed');
    assert.equal((await agentHealth(host)).release, rel.id);
  });

  it('cancels an update whose client dropped before the body arrived: nothing changes, staging is empty', async () => {
    const rel = await buildAgentRelease('4.0.0');
    const before = await agentHealth(host);
    const controller = await mintIdentity('controller', 'controller');
    const socket = await new Promise<ReturnType<typeof connect>>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: updater.port, ca: controller.ca, cert: controller.cert, key: controller.key, checkServerIdentity: () => undefined }, () => {
        s.write(`POST /v1/update HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/gzip\r\ncontent-length: ${rel.tarball.length}\r\nx-swarm-release-sha256: ${rel.id}\r\n\r\n`);
        s.write(rel.tarball.subarray(0, Math.floor(rel.tarball.length / 2)), () => resolve(s));
      });
      s.once('error', reject);
    });
    // Drop the client once the updater has started the operation on the half-sent body.
    await eventually(async () => {
      const latest = (await call(client, updater.port, 'GET', '/v1/operations/latest')).body as { release?: { id: string }; state?: string };
      return latest.release?.id === rel.id && latest.state === 'running' ? true : undefined;
    }, 'the update to start on the half-sent body');
    socket.destroy();
    const record = await eventually(async () => {
      const latest = (await call(client, updater.port, 'GET', '/v1/operations/latest')).body as { release?: { id: string }; state?: string };
      return latest.release?.id === rel.id && latest.state !== 'running' ? latest : undefined;
    }, 'the cancelled update to end');
    assert.notEqual(record.state, 'committed');
    const after = await agentHealth(host);
    assert.equal(after.release, before.release);
    assert.equal(after.pid, before.pid, 'the running agent was not touched');
    assert.deepEqual(await readdir(join(host.installDir, 'staging')), []);
    assert.equal(existsSync(join(host.installDir, 'releases', rel.dirName)), false);
  });
});
