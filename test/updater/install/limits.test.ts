// Install limits as the updater config reads them: safe defaults, partial overrides, clear refusals.
import assert from 'node:assert/strict';
import { DEFAULT_INSTALL_LIMITS, InstallLimitsSchema } from '../../../updater/install/index.js';

describe('updater/install: limits schema', () => {
  it('defaults to 1 GiB unpacked and compressed, 100,000 entries, 4,096-byte paths and a 100:1 ratio', () => {
    assert.deepEqual(InstallLimitsSchema.parse(undefined), {
      maxUnpackedBytes: 1024 ** 3, maxEntries: 100_000, maxPathBytes: 4096, maxCompressionRatio: 100, maxCompressedBytes: 1024 ** 3,
    });
    assert.deepEqual(InstallLimitsSchema.parse({}), { ...DEFAULT_INSTALL_LIMITS });
    assert.equal(Object.isFrozen(DEFAULT_INSTALL_LIMITS), true);
  });

  it('takes partial overrides and refuses nonsense, naming the field', () => {
    assert.equal(InstallLimitsSchema.parse({ maxEntries: 10 }).maxEntries, 10);
    assert.equal(InstallLimitsSchema.parse({ maxEntries: 10 }).maxPathBytes, 4096);
    for (const bad of [{ maxEntries: -1 }, { maxUnpackedBytes: 1.5 }, { maxCompressionRatio: 0 }, { maxPathBytes: 1 }, { maxEntriez: 3 }]) {
      const r = InstallLimitsSchema.safeParse(bad);
      assert.equal(r.success, false, JSON.stringify(bad));
      const field = Object.keys(bad)[0]!;
      assert.ok(JSON.stringify(r.error?.issues).includes(field), `the issue names ${field}`);
    }
  });
});
