// The engine inside the controller: ctx.rollouts pushes to a host's updater at its registered address, the rollout
// survives the controller (resumed at listen), and closing the app stops it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSqliteStore } from '../../../controller/store/index.js';
import { sequentialIds } from '../../../shared/ids.js';
import type { RolloutJson } from '../../../shared/rollout-api.js';
import { DirectoryReleaseSource, startFakeUpdater } from '../../helpers/fake-updater.js';
import { tempDir } from '../../helpers/pki.js';
import { enrollDirectly, startInProcessController, updaterStatus, waitFor, type InProcessController } from '../helpers.js';

describe('rollout engine in the controller', function () {
  this.timeout(30_000);

  it('rolls out through ctx.rollouts to the host\'s updater, and a new controller on the same store resumes a pushing host from its records', async () => {
    const dir = await tempDir('swarm-rollout-wiring-');
    const fake = await startFakeUpdater('w1');
    const releases = new DirectoryReleaseSource(dir.path);
    const release = (await releases.add('2.0.0')).id;
    const path = join(dir.path, 'swarm.db');
    let ctl: InProcessController | undefined;
    try {
      const store = openSqliteStore(path);
      ctl = await startInProcessController({ store, releaseSource: releases, ids: sequentialIds() });
      await enrollDirectly(store, 'w1');
      await store.setHostAddress('w1', fake.address);
      // An updater report makes the host online (its channel would, in production).
      ctl.context.reports.record('w1', 'updater', { report: updaterStatus(), at: Date.now(), certNotAfter: null });
      let release1: () => void = () => undefined;
      fake.behave = () => ({ commitAfter: new Promise<void>((r) => { release1 = r; }) });
      const started = await ctl.context.rollouts.start({ release: '2.0.0', targets: { all: true }, strategy: { canary: 0 }, kind: 'agent' }, 'spiffe://test/operator/admin');
      await fake.pushed(1);
      await ctl.close(); // closes the store too
      release1();
      const store2 = openSqliteStore(path);
      ctl = await startInProcessController({ store: store2, releaseSource: releases });
      ctl.context.reports.record('w1', 'updater', { report: updaterStatus(), at: Date.now(), certNotAfter: null });
      const done = await waitFor<RolloutJson>('the rollout to finish', async () => {
        const r = await ctl!.context.rollouts.get(started.id);
        return r?.state === 'done' ? r : undefined;
      });
      assert.deepEqual(done.hosts.map((h) => [h.name, h.state]), [['w1', 'succeeded']]);
      assert.deepEqual(fake.pushes, [release], 'pushed once, settled from the record after the restart');
    } finally {
      await ctl?.close();
      await fake.close();
      await dir.cleanup();
    }
  });
});
