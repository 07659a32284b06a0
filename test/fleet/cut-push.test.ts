// A real fleet: a push whose connection is cut mid-body (a loopback proxy in front of one updater) is settled from
// that updater's records: the upload never arrived whole, nothing changed on the host, so the push is sent again.
import assert from 'node:assert/strict';
import { startCuttingProxy, startFleet, updateRecords, type Fleet } from './helpers.js';

describe('fleet: a push cut mid-body', function () {
  this.timeout(300_000);
  let fleet: Fleet;
  let proxy: Awaited<ReturnType<typeof startCuttingProxy>> | undefined;

  before(async () => {
    // h1 is registered at a proxy's address; the proxy forwards to its updater until told to cut.
    fleet = await startFleet({
      hosts: 3,
      address: async (i, port) => {
        if (i !== 0) return `127.0.0.1:${port}`;
        proxy = await startCuttingProxy(port, 512 * 1024);
        return `127.0.0.1:${proxy.port}`;
      },
    });
    await fleet.installEverywhere(await fleet.release('1.0.0'));
  });
  after(async () => {
    await fleet?.close();
    await proxy?.close();
  });

  it('settles from the updater\'s records: the aborted upload is sent again and the host ends on the release', async () => {
    const release = await fleet.release('2.0.0', { padBytes: 3 * 1024 * 1024 });
    proxy!.cuts = 1;
    const started = await fleet.startRollout(release.id, ['--all', '--canary', '1']);
    const done = await fleet.awaitRollout(started.id, 'the rollout to end', (r) => r.state === 'done' || r.state === 'paused', 60_000);
    assert.equal(proxy!.cut, 1, 'the first push to h1 was cut mid-body');
    const records = await updateRecords(fleet, 'h1', release.id);
    const where = `rollout ${done.state}${done.reason ? ` ${done.reason}` : ''}; ${done.hosts.map((h) => `${h.name}:${h.state}${h.error ? ` ${h.error.code} ${h.error.message}` : ''}`).join('; ')}; events: ${done.events.map((e) => e.message).join(' | ')}`;
    assert.deepEqual(records.map((r) => [r.state, r.error?.code ?? null]), [['committed', null], ['refused', 'SWARM_ERR_UPDATER_UPLOAD_ABORTED']],
      `the updater recorded the cut upload (nothing changed), then committed the push sent again (${where})`);
    assert.equal(done.state, 'done');
    assert.deepEqual(done.hosts.map((h) => [h.name, h.state]), [['h1', 'succeeded'], ['h2', 'succeeded'], ['h3', 'succeeded']]);
    assert.equal((await fleet.updaterHealth('h1')).active?.id, release.id);
  });
});
