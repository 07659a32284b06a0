// A real fleet of five: hosts configured with a release-signing key refuse a release signed with another key (the
// rollout reports them failed with the updater's code) and take one signed with theirs; builds are reproducible.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runBin, SWARMCTL_BIN } from '../controller/helpers.js';
import { tempDir } from '../helpers/pki.js';
import { startFleet, updateRecords, type Fleet } from './helpers.js';

describe('fleet: signed releases', function () {
  this.timeout(300_000);
  let fleet: Fleet;
  let keys: { path: string; cleanup(): Promise<void> };

  before(async () => {
    keys = await tempDir('swarm-fleet-keys-');
    for (const k of ['right', 'wrong']) {
      const r = await runBin(SWARMCTL_BIN, ['release', 'keygen', '--out', join(keys.path, k)]);
      assert.equal(r.code, 0, r.stderr);
    }
    // h4 and h5 check signatures; h1-h3 have no key configured.
    fleet = await startFleet({ config: (i) => (i >= 3 ? { signingPublicKeyPath: join(keys.path, 'right.pub') } : {}) });
  });
  after(async () => {
    await fleet?.close();
    await keys?.cleanup();
  });

  it('a release signed with the wrong key: refused by the hosts with a key, reported failed with the updater\'s code', async () => {
    const bad = await fleet.release('1.0.0', { signKey: join(keys.path, 'wrong') });
    const started = await fleet.startRollout(bad.id, ['--all', '--canary', '0', '--batch', '100%', '--max-parallel', '5', '--max-failures', '2']);
    const done = await fleet.awaitRollout(started.id, 'the rollout to finish', (r) => r.state === 'done', 60_000);
    assert.deepEqual(done.hosts.map((h) => [h.name, h.state]), [['h1', 'succeeded'], ['h2', 'succeeded'], ['h3', 'succeeded'], ['h4', 'failed'], ['h5', 'failed']]);
    for (const name of ['h4', 'h5']) {
      const [record] = await updateRecords(fleet, name, bad.id);
      assert.equal(record?.state, 'refused');
      const host = done.hosts.find((h) => h.name === name)!;
      assert.equal(host.error?.code, record.error?.code, `${name} carries the updater's code`);
      assert.match(host.error!.code, /^SWARM_ERR_.*SIGNATURE/);
      assert.equal((await fleet.updaterHealth(name)).active, null, `${name} installed nothing`);
    }

    const good = await fleet.release('1.1.0', { signKey: join(keys.path, 'right') });
    const second = await fleet.startRollout(good.id, ['--all', '--canary', '0', '--batch', '100%', '--max-parallel', '5']);
    const ok = await fleet.awaitRollout(second.id, 'the signed rollout to finish', (r) => r.state === 'done', 60_000);
    assert.deepEqual(ok.hosts.map((h) => h.state), ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded'], 'the right key is accepted everywhere');
  });

  it('the same directory built twice gives the same bytes and id', async () => {
    const first = await fleet.release('2.0.0', { tag: 'a' });
    const again = await fleet.swarmctlJson<{ id: string }>(['release', 'build', join(fleet.root, 'src', '2.0.0-a'), '--version', '2.0.0', '--out', join(fleet.root, 'again.tar.gz')]);
    assert.equal(again.id, first.id);
    assert.deepEqual(await readFile(join(fleet.root, 'again.tar.gz')), await readFile(first.file));
  });
});
