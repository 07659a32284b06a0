// A body that ends before its archive does is refused at once, and the updater takes the next update (hardening item 2).
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { releaseIdOf } from '../../shared/release/index.js';
import { rawHeader } from '../helpers/releases.js';
import { buildAgentRelease } from './helpers/agent-release.js';
import { makeEngineHost, type EngineHost } from './helpers/engine-host.js';

/** One 512-byte header with a valid checksum claiming `size` bytes, gzip'd, with nothing after it. */
function lonelyHeader(typeflag: string, size: number): Buffer {
  return gzipSync(rawHeader({ name: typeflag === 'x' ? 'PaxHeaders/a' : 'tmp/16gig.txt', typeflag, size }));
}

describe('updater: an archive that ends early', function () {
  this.timeout(10_000);
  let h: EngineHost;
  beforeEach(async () => {
    h = await makeEngineHost();
  });
  afterEach(() => h.cleanup());

  const send = (tarball: Buffer) => h.updater.update({ body: Readable.from([tarball]), id: releaseIdOf(tarball) });

  it('refuses a lone PAX header claiming 1 GiB at once (it used to hold the operation lock forever) and takes the next update', async () => {
    await assert.rejects(send(lonelyHeader('x', 1024 ** 3)), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SWARM_ERR_INSTALL_CORRUPT', err.message);
      assert.match(err.message, /4 MiB/);
      return true;
    });
    assert.equal(h.updater.runningId, null, 'the operation lock is free');
    assert.equal((await h.operations.latest())?.state, 'refused');
    assert.deepEqual(await readdir(h.paths.staging), [], 'staging is empty');
    const v1 = await buildAgentRelease('1.0.0');
    assert.equal((await send(v1.tarball)).state, 'committed', 'the next update works');
  });

  it('refuses a lone file header claiming 900 MB with SWARM_ERR_TAR_TRUNCATED and takes the next update', async () => {
    await assert.rejects(send(lonelyHeader('0', 900_000_000)), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SWARM_ERR_TAR_TRUNCATED', err.message);
      assert.match(err.message, /900000000 more bytes/);
      return true;
    });
    assert.deepEqual(await readdir(h.paths.staging), [], 'staging is empty');
    const v1 = await buildAgentRelease('1.0.0');
    assert.equal((await send(v1.tarball)).state, 'committed', 'the next update works');
  });
});
