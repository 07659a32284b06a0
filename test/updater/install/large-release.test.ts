// A release of tens of megabytes streams from a file into place (no timing here: bench/install.ts measures).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buildReleaseToFile } from '../../../shared/release/index.js';
import { writeReleaseTree } from '../../helpers/releases.js';
import { createSandbox, defaultLimits, type Sandbox } from './sandbox.js';

describe('updater/install: a large release', function () {
  this.timeout(120_000);
  let sb: Sandbox;
  before(async () => {
    sb = await createSandbox();
  });
  after(() => sb.cleanup());

  it('installs a 40 MB, 1,000-file release streamed from disk', async () => {
    const src = join(sb.outer, 'src-large');
    await writeReleaseTree(src, { version: '8.0.0', files: 1000, fileBytes: 40 * 1024, content: 'random' });
    await writeReleaseTree(join(src), { version: '8.0.0', extra: { 'blob/one-big-file.bin': randomBytes(4 * 1024 * 1024) } });
    const tarball = join(sb.outer, 'large.tar.gz');
    const { id, bytes } = await buildReleaseToFile(src, tarball, { level: 1 });
    assert.ok(bytes > 40 * 1000 * 1000, `only ${bytes} bytes`);
    const installed = await sb.store.install({ body: createReadStream(tarball, { highWaterMark: 256 * 1024 }), expectedId: id, limits: defaultLimits() });
    assert.equal(installed.version, '8.0.0');
    const dirs = await readdir(join(installed.dir, 'data'));
    let files = 0;
    for (const d of dirs) files += (await readdir(join(installed.dir, 'data', d))).length;
    assert.equal(files, 1000);
    assert.equal((await stat(join(installed.dir, 'blob', 'one-big-file.bin'))).size, 4 * 1024 * 1024);
    assert.equal((await stat(join(installed.dir, 'data', 'd001', 'f000999.bin'))).size, 40 * 1024);
    assert.deepEqual(await readdir(join(sb.root, 'staging')), []);
  });
});
