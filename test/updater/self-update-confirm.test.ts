// The new updater's confirmation is idempotent: a worker killed after writing `confirmed` but before recording the
// outcome finishes it at its next start (otherwise the self-update stays `running` forever for the controller).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomIds } from '../../shared/ids.js';
import { silentLogger } from '../../shared/logger.js';
import type { Updater } from '../../updater/engine.js';
import { DEFAULT_INSTALL_LIMITS, ReleaseStore } from '../../updater/install/index.js';
import { OperationStore } from '../../updater/operations.js';
import { hostPaths } from '../../updater/paths.js';
import { SelfUpdateJournalFile } from '../../updater/self-update-journal.js';
import { SelfUpdater } from '../../updater/self-update.js';
import { tempDir } from '../helpers/pki.js';

describe('self-update confirmation', () => {
  it('closes the record when a restarted new updater finds its own `confirmed` journal', async () => {
    const t = await tempDir('swarm-rv-confirm-');
    try {
      const paths = hostPaths(join(t.path, 'opt'));
      const operations = new OperationStore(paths.operations, randomIds);
      await operations.init();
      const record = await operations.create('op-confirm1', 'self-update', { id: 'a'.repeat(64), version: null });
      const journal = new SelfUpdateJournalFile(paths.selfUpdateJournal);
      const me = `2.0.0-${'a'.repeat(12)}`;
      // The worker on trial wrote `confirmed` and was killed before it recorded the outcome.
      await journal.write({ op: record.id, phase: 'confirmed', previous: null, next: me, prevBefore: null, attempts: 1 });
      const store = new ReleaseStore({ root: paths.updaterRoot, stagingDir: paths.updaterStaging, stateDir: paths.updaterState });
      await store.init();
      const selfUpdater = new SelfUpdater({
        store, journal, operations, updater: undefined as unknown as Updater, limits: DEFAULT_INSTALL_LIMITS, keep: 3, logger: silentLogger(), handOver: () => undefined,
      });
      await selfUpdater.confirmIfOnTrial(me);
      assert.equal((await operations.get(record.id))?.state, 'committed');
      assert.equal(await journal.read(), null, 'the journal is cleared');
    } finally {
      await t.cleanup();
    }
  });
});
