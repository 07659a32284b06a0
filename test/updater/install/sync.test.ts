// Durability at publish: one syncfs through `sync -f`, or per-path fsync when it is unavailable.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { buildRelease } from '../../../shared/release/index.js';
import { ReleaseStore } from '../../../updater/install/index.js';
import { syncFilesystem } from '../../../updater/install/sync-queue.js';
import { tempDir } from '../../helpers/pki.js';
import { writeReleaseTree } from '../../helpers/releases.js';
import { defaultLimits } from './sandbox.js';

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

  for (const syncfsWorks of [true, false]) {
    it(`makes the whole staged release durable before it becomes visible${syncfsWorks ? '' : ' (fsync each path when syncfs fails)'}`, async () => {
      const tmp = await tempDir();
      try {
        const root = join(tmp.path, 'host');
        const calls: Array<{ path: string; staged: string[]; published: boolean }> = [];
        const store = new ReleaseStore({
          root, stagingDir: join(root, 'staging'), stateDir: join(root, 'state'),
          syncFilesystem: async (path) => {
            calls.push({ path, staged: (await readdir(path)).sort(), published: (await readdir(join(root, 'releases'))).length > 0 });
            return syncfsWorks ? syncFilesystem(path) : false;
          },
        });
        await store.init();
        const src = join(tmp.path, 'src');
        await writeReleaseTree(src, { version: '2.0.0' });
        const built = await buildRelease(src, {});
        const installed = await store.install({ body: Readable.from([built.tarball]), expectedId: built.id, limits: defaultLimits() });
        assert.equal(calls.length, 1, 'one sync per install');
        const call = calls[0]!;
        assert.equal(dirname(call.path), join(root, 'staging'), 'the staging directory of this install is synced');
        assert.match(basename(call.path), /^install-/);
        assert.deepEqual(call.staged, ['.swarm-release.json', 'bin', 'swarm-release.json'], 'everything, sidecar included, is written before the sync');
        assert.equal(call.published, false, 'nothing is visible in releases/ before the sync');
        assert.ok(existsSync(join(installed.dir, '.swarm-release.json')));
        assert.deepEqual(await readdir(join(root, 'staging')), []);
      } finally {
        await tmp.cleanup();
      }
    });
  }
});
