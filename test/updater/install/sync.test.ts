// Durability at publish: one syncfs through `sync -f`, or per-path fsync when it is unavailable.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { syncFilesystem } from '../../../updater/install/sync-queue.js';
import { tempDir } from '../../helpers/pki.js';

describe('installer durability', () => {
  it('syncs the filesystem of a staged release, and reports false (so callers fsync each file) when it cannot', async () => {
    const dir = await tempDir();
    try {
      assert.equal(await syncFilesystem(dir.path), true);
      assert.equal(await syncFilesystem(join(dir.path, 'no-such-dir')), false);
    } finally {
      await dir.cleanup();
    }
  });
});
