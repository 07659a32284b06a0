// A real fleet of three supervised updaters (`run --supervise`, as the systemd unit runs them): `swarmctl updater
// self-update` rolls the updaters' own code out as a rollout; a build that cannot start fails on the canary, whose
// supervisor puts the previous updater back, and no other host is touched.
import assert from 'node:assert/strict';
import { startFleet, type Fleet, type FleetRelease } from './helpers.js';
import { pollUntil } from '../helpers/wait.js';
import type { RolloutJson } from '../../shared/rollout-api.js';

describe('fleet: updater self-update as a rollout', function () {
  this.timeout(300_000);
  let fleet: Fleet;
  let v1: FleetRelease;

  before(async () => {
    fleet = await startFleet({ hosts: 3, supervise: true, config: () => ({ selfUpdateDeadlineMs: 20_000 }) });
    v1 = await fleet.release('1.0.0');
    await fleet.installEverywhere(v1);
  });
  after(async () => {
    await fleet?.close();
  });

  const versions = async (): Promise<string[]> => Promise.all(fleet.hosts.map(async (h) => (await fleet.updaterHealth(h.name)).version));
  /** The updater answering again after its swap (the worker restarts), with the version asked for. */
  const awaitVersion = (name: string, version: string): Promise<true> => pollUntil(`${name}'s updater answering as ${version}`, async () => {
    const h = await fleet.updaterHealth(name);
    return h.version === version && h.agent?.status === 'ok' ? true : undefined;
  }, { timeoutMs: 60_000, everyMs: 100, retryErrors: true });

  it('replaces every updater, canary first, and the agents stay on their release', async () => {
    const before = await versions();
    const good = await fleet.updaterRelease('9.0.0', 'good');
    const r = await fleet.swarmctl(['--json', 'updater', 'self-update', good.id, '--all', '--canary', '1', '--wait'], 240_000);
    assert.equal(r.code, 0, r.stderr);
    const done = JSON.parse(r.stdout) as RolloutJson;
    assert.equal(done.kind, 'updater');
    assert.equal(done.state, 'done');
    assert.deepEqual(done.hosts.map((h) => [h.name, h.wave, h.state]), [['h1', 0, 'succeeded'], ['h2', 1, 'succeeded'], ['h3', 1, 'succeeded']]);
    const canaryEnd = Date.parse(done.hosts[0]!.endedAt!);
    for (const h of done.hosts.slice(1)) assert.ok(Date.parse(h.startedAt!) >= canaryEnd, `${h.name} was pushed after the canary ended`);
    for (const h of fleet.hosts) await awaitVersion(h.name, '9.0.0');
    assert.notDeepEqual(before, ['9.0.0', '9.0.0', '9.0.0']);
    for (const h of fleet.hosts) assert.equal((await fleet.updaterHealth(h.name)).active?.id, v1.id, `${h.name}'s agent release is untouched`);
  });

  it('a build that cannot start fails on the canary: its supervisor restores the previous updater, the rollout pauses, nobody else is touched', async () => {
    const broken = await fleet.updaterRelease('9.1.0', 'exit');
    const started = await fleet.swarmctlJson<RolloutJson>(['updater', 'self-update', broken.id, '--all', '--canary', '1']);
    const r = await fleet.awaitRollout(started.id, 'the self-update to pause on its canary', (x) => x.state === 'paused', 120_000);
    assert.equal(r.reason, 'canary-failed');
    const canary = r.hosts.find((h) => h.name === 'h1')!;
    assert.equal(canary.state, 'rolled-back', JSON.stringify(canary));
    assert.equal(canary.error?.code, 'SWARM_ERR_UPDATER_SELF_UPDATE_FAILED');
    assert.deepEqual(r.hosts.filter((h) => h.name !== 'h1').map((h) => h.state), ['pending', 'pending']);
    for (const h of fleet.hosts) await awaitVersion(h.name, '9.0.0');
    for (const name of ['h2', 'h3']) {
      const records = await fleet.operations(name, { release: broken.id, kind: 'self-update' });
      assert.deepEqual(records, [], `${name} was never sent the broken updater`);
    }
    assert.equal((await fleet.swarmctl(['rollout', 'abort', started.id])).code, 0);
  });
});
