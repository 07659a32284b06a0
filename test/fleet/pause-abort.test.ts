// A real fleet of five: a paused rollout pushes nothing new (the push in flight finishes); an aborted one stops for good.
import assert from 'node:assert/strict';
import { assertHolds, startFleet, updateRecords, type Fleet } from './helpers.js';
import type { RolloutJson } from '../../shared/rollout-api.js';

describe('fleet: pause and abort', function () {
  this.timeout(300_000);
  let fleet: Fleet;

  before(async () => {
    fleet = await startFleet({ config: () => ({ windowMs: 2_000 }) });
    await fleet.installEverywhere(await fleet.release('1.0.0'));
  });
  after(async () => {
    await fleet?.close();
  });

  it('pause holds (nothing new is pushed, the push in flight finishes); abort stops and is final', async () => {
    const release = await fleet.release('2.0.0');
    const untouched = async (names: string[]): Promise<boolean> => (await Promise.all(names.map((n) => updateRecords(fleet, n, release.id)))).every((r) => r.length === 0);
    const state = (r: RolloutJson, name: string): string => r.hosts.find((h) => h.name === name)!.state;
    // One host at a time, so there is always a next one to start.
    const started = await fleet.startRollout(release.id, ['--all', '--canary', '0', '--batch', '100%', '--max-parallel', '1']);
    // Pause and abort go straight to the API (what `swarmctl rollout pause|abort` sends, tested in test/cli): a
    // swarmctl process can take longer to start on loaded cores than h1's push takes to finish.
    const act = (action: 'pause' | 'abort'): Promise<RolloutJson> => fleet.post<RolloutJson>(`/v1/rollouts/${encodeURIComponent(started.id)}/${action}`, '{}', { 'content-type': 'application/json' });
    await fleet.awaitRollout(started.id, 'h1 pushing', (r) => state(r, 'h1') === 'pushing');
    const paused = await act('pause');
    assert.deepEqual([paused.state, paused.reason], ['paused', 'operator']);
    const settled = await fleet.awaitRollout(started.id, 'h1 to finish', (r) => state(r, 'h1') === 'succeeded', 30_000);
    assert.equal(settled.state, 'paused');
    // The executor decided again when h1 settled; for a while longer nothing starts and no updater is contacted.
    await assertHolds('no push while paused', async () => {
      const r = await fleet.rollout(started.id);
      return r.state === 'paused' && r.hosts.every((h) => h.name === 'h1' || h.state === 'pending') && (await untouched(['h2', 'h3', 'h4', 'h5']));
    }, 2_000);

    await fleet.swarmctlJson<RolloutJson>(['rollout', 'resume', started.id]);
    await fleet.awaitRollout(started.id, 'h2 pushing', (r) => state(r, 'h2') === 'pushing');
    const aborted = await act('abort');
    assert.equal(aborted.state, 'aborted');
    const after = await fleet.awaitRollout(started.id, 'h2 to finish', (r) => state(r, 'h2') === 'succeeded', 30_000);
    assert.equal(after.state, 'aborted');
    await assertHolds('no push after abort', async () => {
      const r = await fleet.rollout(started.id);
      return r.state === 'aborted' && ['h3', 'h4', 'h5'].every((n) => state(r, n) === 'pending') && (await untouched(['h3', 'h4', 'h5']));
    }, 2_000);
    const resume = await fleet.swarmctl(['rollout', 'resume', started.id]);
    assert.equal(resume.code, 1, 'an aborted rollout never resumes');
    assert.match(resume.stderr, /SWARM_ERR_ROLLOUT_STATE/);
    assert.deepEqual(after.events.filter((e) => e.type === 'host-pushing').map((e) => e.host), ['h1', 'h2']);
  });
});
