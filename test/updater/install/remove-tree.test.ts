// Deleting a release tree: everything goes, symlinks are never followed, and the unlinks in flight stay bounded.
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, rmdir, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeTree, type RemoveTreeFs } from '../../../updater/install/remove-tree.js';
import { tempDir } from '../../helpers/pki.js';

describe('updater/install: removeTree', () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  beforeEach(async () => (tmp = await tempDir('swarm-rmtree-')));
  afterEach(() => tmp.cleanup());

  it('removes a nested tree without following symlinks out of it', async () => {
    const outside = join(tmp.path, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'keep.txt'), 'precious');
    const tree = join(tmp.path, 'tree');
    await mkdir(join(tree, 'a', 'b', 'c'), { recursive: true });
    await writeFile(join(tree, 'a', 'b', 'c', 'f'), 'x');
    await writeFile(join(tree, 'top'), 'y');
    await symlink(outside, join(tree, 'a', 'to-outside'));
    await symlink('../../outside/keep.txt', join(tree, 'a', 'b', 'file-link'));
    await removeTree(tree);
    await assert.rejects(lstat(tree), { code: 'ENOENT' });
    assert.equal(await readFile(join(outside, 'keep.txt'), 'utf8'), 'precious');
    await removeTree(tree); // already gone: fine
  });

  it('keeps at most 16 unlinks in flight on a 2,000-file directory (fs.rm starts them all at once)', async () => {
    const tree = join(tmp.path, 'big');
    await mkdir(join(tree, 'sub'), { recursive: true });
    for (let i = 0; i < 2000; i += 1) await writeFile(join(tree, i % 2 ? 'sub' : '', `f${i}`), '');
    let inFlight = 0;
    let peak = 0;
    const fs: RemoveTreeFs = {
      lstat,
      readdir: (p) => readdir(p),
      rmdir,
      unlink: async (p) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        try {
          await unlink(p);
        } finally {
          inFlight -= 1;
        }
      },
    };
    await removeTree(tree, { fs });
    await assert.rejects(lstat(tree), { code: 'ENOENT' });
    assert.ok(peak <= 16, `peak ${peak} unlinks in flight`);
    assert.ok(peak > 1, 'unlinks still run in parallel');
  });
});
