// A real fleet of five: the controller is SIGKILLed mid-wave and restarted on the same state dir and port; the
// rollout resumes and finishes, no host is updated twice, and no host of a later wave is contacted before its wave.
import assert from 'node:assert/strict';
import { startFleet, updateRecords, type Fleet } from './helpers.js';
import { pollUntil } from '../helpers/wait.js';

describe('fleet: the controller killed mid-wave', function () {
  this.timeout(300_000);
  let fleet: Fleet;

  before(async () => {
    // A watch window long enough that the kill lands while the wave's pushes are in flight.
    fleet = await startFleet({ config: () => ({ windowMs: 2_500 }) });
    await fleet.installEverywhere(await fleet.release('1.0.0'));
  });
  after(async () => {
    await fleet?.close();
  });

  it('resumes after a restart and finishes: one update per host, later waves untouched until they begin', async () => {
    const release = await fleet.release('2.0.0');
    const started = await fleet.startRollout(release.id, ['--all', '--canary', '1', '--batch', '2', '--max-parallel', '2']);
    assert.deepEqual(started.hosts.map((h) => [h.name, h.wave]), [['h1', 0], ['h2', 1], ['h3', 1], ['h4', 2], ['h5', 2]]);
    // Mid-wave 1: both of its hosts have a running update record.
    await pollUntil('wave 1 in flight on h2 and h3', async () => {
      const states = await Promise.all(['h2', 'h3'].map(async (n) => (await updateRecords(fleet, n, release.id))[0]?.state));
      return states.every((s) => s === 'running') ? true : undefined;
    }, { timeoutMs: 60_000, everyMs: 50, retryErrors: true });
    await fleet.killController();
    for (const name of ['h4', 'h5']) assert.deepEqual(await updateRecords(fleet, name, release.id), [], `${name} (wave 2) not contacted during wave 1`);

    await fleet.restartController();
    const done = await fleet.awaitRollout(started.id, 'the resumed rollout to finish', (r) => r.state === 'done', 90_000);
    assert.deepEqual(done.hosts.map((h) => [h.name, h.state]), ['h1', 'h2', 'h3', 'h4', 'h5'].map((n) => [n, 'succeeded']));
    const wave2 = Date.parse(done.events.find((e) => e.type === 'wave-started' && e.wave === 2)!.at);
    for (const h of fleet.hosts) {
      const records = await updateRecords(fleet, h.name, release.id);
      assert.equal(records.length, 1, `${h.name}: exactly one update operation for the release`);
      assert.equal(records[0]!.state, 'committed');
      assert.equal((await fleet.updaterHealth(h.name)).active?.id, release.id);
      const startedAt = Date.parse(records[0]!.startedAt);
      if (h.name === 'h4' || h.name === 'h5') assert.ok(startedAt >= wave2, `${h.name} was pushed after wave 2 began`);
      else assert.ok(startedAt < wave2, `${h.name} was pushed before wave 2 began`);
    }
    for (const name of ['h2', 'h3']) {
      assert.equal(done.events.filter((e) => e.type === 'host-pushing' && e.host === name).length, 1, `${name} pushed once, settled from its records after the restart`);
    }
  });
});
