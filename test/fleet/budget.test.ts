// A real fleet of five: a failure budget of 1 pauses the rollout at the second failure, the push in flight finishes,
// and `rollout resume --max-failures 3` goes on with the next host.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FAIL_MARKER, startFleet, updateRecords, type Fleet } from './helpers.js';

describe('fleet: the failure budget', function () {
  this.timeout(300_000);
  let fleet: Fleet;

  before(async () => {
    // Waves [h1] [h2 h3 h4] [h5]; h4's watch window is long: its push is still in flight when h2 and h3 have failed.
    fleet = await startFleet({ config: (i) => (i === 3 ? { windowMs: 8_000 } : {}) });
    await fleet.installEverywhere(await fleet.release('1.0.0'));
  });
  after(async () => {
    await fleet?.close();
  });

  it('pauses at the second failure (budget-exceeded), lets the push in flight finish, and resumes with a new budget', async () => {
    const release = await fleet.release('2.0.0', { failOnMarker: true });
    for (const name of ['h2', 'h3']) await writeFile(join(fleet.host(name).installDir, FAIL_MARKER), '');
    const started = await fleet.startRollout(release.id, ['--all', '--canary', '1', '--batch', '3', '--max-parallel', '3', '--max-failures', '1']);
    const paused = await fleet.awaitRollout(started.id, 'the rollout to pause itself', (r) => r.state === 'paused', 60_000);
    assert.equal(paused.reason, 'budget-exceeded');
    const state = (r: typeof paused, name: string): string => r.hosts.find((h) => h.name === name)!.state;
    assert.deepEqual(['h1', 'h2', 'h3'].map((n) => state(paused, n)), ['succeeded', 'rolled-back', 'rolled-back']);
    assert.equal(state(paused, 'h5'), 'pending', 'nothing new starts past the budget');
    for (const name of ['h2', 'h3']) {
      const [record] = await updateRecords(fleet, name, release.id);
      assert.equal(paused.hosts.find((h) => h.name === name)!.error?.code, record?.error?.code, `${name} carries its updater's code`);
    }
    // h4 was in flight when the rollout paused (its long watch window): it finishes and is recorded, still paused.
    const pausedEvent = paused.events.find((e) => e.type === 'paused')!;
    const h4Pushed = paused.events.find((e) => e.type === 'host-pushing' && e.host === 'h4');
    assert.ok(h4Pushed && h4Pushed.seq < pausedEvent.seq, 'h4 was pushed before the pause');
    const settled = await fleet.awaitRollout(started.id, 'h4 to settle', (r) => state(r, 'h4') === 'succeeded', 30_000);
    assert.equal(settled.state, 'paused');
    assert.equal(state(settled, 'h5'), 'pending');
    assert.deepEqual(await updateRecords(fleet, 'h5', release.id), [], 'h5 was not contacted while paused');

    const resumed = await fleet.swarmctlJson<{ state: string; budget: { allowed: number } }>(['rollout', 'resume', started.id, '--max-failures', '3']);
    assert.equal(resumed.budget.allowed, 3);
    const done = await fleet.awaitRollout(started.id, 'the rollout to finish', (r) => r.state === 'done', 30_000);
    assert.deepEqual(done.hosts.map((h) => [h.name, h.state]), [['h1', 'succeeded'], ['h2', 'rolled-back'], ['h3', 'rolled-back'], ['h4', 'succeeded'], ['h5', 'succeeded']]);
    const events = done.events.map((e) => e.type);
    assert.ok(events.indexOf('resumed') > events.indexOf('paused'));
    assert.ok(done.events.findIndex((e) => e.type === 'host-pushing' && e.host === 'h5') > events.indexOf('resumed'), 'h5 was pushed only after the resume');
    for (const name of ['h1', 'h4', 'h5']) assert.equal((await fleet.updaterHealth(name)).active?.id, release.id);
  });
});
