// A real fleet of five: fleet rollback brings every host back in parallel; `--rollout ID` pauses a running rollout
// and returns exactly the hosts it changed; a host whose updater is down is reported unreachable (exit 1).
import assert from 'node:assert/strict';
import type { FleetRollbackReport, RolloutJson } from '../../shared/rollout-api.js';
import { startFleet, updateRecords, type Fleet, type FleetRelease } from './helpers.js';

const ALL = ['h1', 'h2', 'h3', 'h4', 'h5'];

describe('fleet: rollback', function () {
  this.timeout(300_000);
  let fleet: Fleet;
  let v1: FleetRelease;
  let v2: FleetRelease;

  before(async () => {
    fleet = await startFleet();
    v1 = await fleet.release('1.0.0');
    await fleet.installEverywhere(v1);
    v2 = await fleet.release('2.0.0');
    await fleet.installEverywhere(v2);
  });
  after(async () => {
    await fleet?.close();
  });

  it('rollback --all: every host rolled back, in parallel, each to its previous release (exit 0)', async () => {
    const r = await fleet.swarmctl(['--json', 'rollback', '--all']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as FleetRollbackReport;
    assert.deepEqual(report.hosts.map((h) => [h.name, h.state, h.release, h.error]), ALL.map((n) => [n, 'rolled-back', v1.id, null]));
    const records = await Promise.all(ALL.map(async (n) => (await fleet.operations(n, { kind: 'rollback', limit: 1 }))[0]!));
    for (const [i, n] of ALL.entries()) {
      assert.equal(records[i]!.state, 'rolled-back');
      assert.equal((await fleet.updaterHealth(n)).active?.id, v1.id, `${n} runs its previous release`);
    }
    // In parallel: every host's rollback had started before the first one ended.
    const lastStart = Math.max(...records.map((x) => Date.parse(x.startedAt)));
    const firstEnd = Math.min(...records.map((x) => Date.parse(x.endedAt!)));
    assert.ok(lastStart < firstEnd, `rollbacks overlap (last start ${lastStart}, first end ${firstEnd})`);
  });

  it('rollback --rollout ID during the rollout: pauses it (reason rollback) and returns exactly the hosts it changed', async () => {
    const v3 = await fleet.release('3.0.0');
    const state = (r: RolloutJson, name: string): string => r.hosts.find((h) => h.name === name)!.state;
    const started = await fleet.startRollout(v3.id, ['--all', '--canary', '1', '--batch', '1', '--max-parallel', '1']);
    await fleet.awaitRollout(started.id, 'h2 to have succeeded', (r) => state(r, 'h2') === 'succeeded', 60_000);
    // Straight to the API (what `swarmctl rollback --rollout` sends): a swarmctl process takes 0.5-2 s to start on
    // loaded cores, time enough for h3 and then h4 to finish; the pause must land while h3 at most is in flight.
    // swarmctl rollback itself is driven in the other two cases.
    const report = await fleet.post<FleetRollbackReport>('/v1/rollback', JSON.stringify({ rollout: started.id }), { 'content-type': 'application/json' });
    assert.deepEqual(report.pausedRollouts, [started.id]);
    const rollout = await fleet.rollout(started.id);
    assert.deepEqual([rollout.state, rollout.reason], ['paused', 'rollback']);
    const changed = rollout.hosts.filter((h) => h.state === 'succeeded').map((h) => h.name);
    assert.ok(changed.length >= 2 && changed.length <= 3, `h1, h2 and perhaps h3 (in flight at the rollback) changed: ${changed.join(',')}`);
    assert.deepEqual(report.hosts.map((h) => [h.name, h.state, h.release]), changed.map((n) => [n, 'rolled-back', v1.id]));
    for (const n of changed) assert.equal((await fleet.updaterHealth(n)).active?.id, v1.id);
    for (const n of ALL.filter((x) => !changed.includes(x))) {
      assert.deepEqual(await updateRecords(fleet, n, v3.id), [], `${n} was never sent the release`);
      assert.equal((await fleet.updaterHealth(n)).active?.id, v1.id, `${n} untouched`);
      assert.equal((await fleet.operations(n, { kind: 'rollback', limit: 5 })).length, 1, `${n} was not rolled back again`);
    }
  });

  it('a host whose updater is down is reported unreachable, and the exit code is 1', async () => {
    await fleet.stopUpdater('h5');
    // h1 and h2 have somewhere to go back to (what the last rollback left as prev); h5 would, but its updater is down.
    const r = await fleet.swarmctl(['--json', 'rollback', 'h1', 'h2', 'h5']);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as FleetRollbackReport;
    assert.deepEqual(report.hosts.map((h) => [h.name, h.state]), [['h1', 'rolled-back'], ['h2', 'rolled-back'], ['h5', 'unreachable']], JSON.stringify(report.hosts));
    assert.equal(report.hosts[2]!.error?.code, 'SWARM_ERR_ROLLOUT_HOST_UNREACHABLE');
    assert.match(r.stderr, /h5 unreachable/);
  });
});
