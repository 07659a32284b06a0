// A real fleet: the controller dies between a host's success and the write of that success (the updater commits
// while the controller is down); after the restart the host is settled from its operation record, never pushed again.
import assert from 'node:assert/strict';
import { startFleet, updateRecords, type Fleet } from './helpers.js';
import { pollUntil } from '../helpers/wait.js';

describe('fleet: a success the controller did not live to write', function () {
  this.timeout(300_000);
  let fleet: Fleet;

  before(async () => {
    // Three hosts are enough here; h1, the canary, has a slow watch window so the controller can die meanwhile.
    fleet = await startFleet({ hosts: 3, config: (i) => (i === 0 ? { windowMs: 4_000 } : {}) });
    await fleet.installEverywhere(await fleet.release('1.0.0'));
  });
  after(async () => {
    await fleet?.close();
  });

  it('settles the host from its committed record after the restart and does not push it again', async () => {
    const release = await fleet.release('2.0.0');
    const started = await fleet.startRollout(release.id, ['--all', '--canary', '1']);
    await pollUntil('h1 to be in its watch window', async () => {
      const [r] = await updateRecords(fleet, 'h1', release.id);
      return r?.state === 'running' && r.steps.some((s) => s.step === 'switched') ? true : undefined;
    }, { timeoutMs: 60_000, everyMs: 50, retryErrors: true });
    await fleet.killController();
    // The host succeeds while nobody is there to record it.
    await pollUntil('h1 to commit with the controller down', async () => ((await updateRecords(fleet, 'h1', release.id))[0]?.state === 'committed' ? true : undefined),
      { timeoutMs: 30_000, everyMs: 100, retryErrors: true });

    await fleet.restartController();
    const done = await fleet.awaitRollout(started.id, 'the rollout to finish', (r) => r.state === 'done', 60_000);
    assert.deepEqual(done.hosts.map((h) => [h.name, h.state]), [['h1', 'succeeded'], ['h2', 'succeeded'], ['h3', 'succeeded']]);
    const records = await updateRecords(fleet, 'h1', release.id);
    assert.equal(records.length, 1, 'exactly one update record on h1: it was not pushed again');
    assert.equal(done.events.filter((e) => e.type === 'host-pushing' && e.host === 'h1').length, 1);
    assert.match(fleet.controllerLogs(), /found the host pushing after a restart/);
  });
});
