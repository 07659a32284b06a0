// A real fleet of five: a canary whose agent fails pauses the rollout, and no other host is contacted.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FAIL_MARKER, startFleet, updateRecords, type Fleet, type FleetRelease } from './helpers.js';

describe('fleet: a failing canary', function () {
  this.timeout(300_000);
  let fleet: Fleet;
  let v1: FleetRelease;

  before(async () => {
    fleet = await startFleet();
    v1 = await fleet.release('1.0.0');
    await fleet.installEverywhere(v1);
  });
  after(async () => {
    await fleet?.close();
  });

  it('pauses the rollout (canary-failed), the canary rolled back with the updater\'s code and message, no other host contacted', async () => {
    const bad = await fleet.release('2.0.0', { failOnMarker: true });
    await writeFile(join(fleet.host('h1').installDir, FAIL_MARKER), '');
    const started = await fleet.startRollout(bad.id, ['--all', '--canary', '1', '--batch', '2']);
    assert.deepEqual(started.hosts.map((h) => [h.name, h.wave]), [['h1', 0], ['h2', 1], ['h3', 1], ['h4', 2], ['h5', 2]]);
    const r = await fleet.awaitRollout(started.id, 'the rollout to pause', (x) => x.state === 'paused');
    assert.equal(r.state, 'paused');
    assert.equal(r.reason, 'canary-failed');
    const canary = r.hosts.find((h) => h.name === 'h1')!;
    assert.equal(canary.state, 'rolled-back');
    const [record] = await updateRecords(fleet, 'h1', bad.id);
    assert.equal(record?.state, 'rolled-back');
    assert.ok(record.error, 'the updater recorded why');
    assert.equal(canary.error?.code, record.error.code, 'the rollout carries the updater\'s own code');
    assert.ok(canary.error?.message.includes(record.error.message), `the updater's message: ${canary.error?.message}`);
    assert.deepEqual(r.hosts.filter((h) => h.name !== 'h1').map((h) => h.state), ['pending', 'pending', 'pending', 'pending']);
    for (const name of ['h2', 'h3', 'h4', 'h5']) {
      assert.deepEqual(await updateRecords(fleet, name, bad.id), [], `${name} was never sent the release`);
      assert.equal((await fleet.updaterHealth(name)).active?.id, v1.id);
    }
    assert.equal((await fleet.updaterHealth('h1')).active?.id, v1.id, 'the canary is back on its release');
    const exit = await fleet.swarmctl(['rollout', 'watch', started.id]);
    assert.equal(exit.code, 1, 'a paused rollout is not a success');
  });
});
