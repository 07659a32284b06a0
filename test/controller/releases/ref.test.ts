// decideReleaseRef: what a RELEASE reference names among candidate releases (pure).
import assert from 'node:assert/strict';
import { decideReleaseRef, isReleasePrefix } from '../../../controller/releases/ref.js';

const rec = (id: string, version: string, uploadedAt: number) => ({ id, name: 'sensor', version, size: 1, signature: null, uploadedBy: 'u', uploadedAt });

describe('release references', () => {
  const a = rec(`00aa11bb${'1'.repeat(56)}`, '1.0.0', 1);
  const b = rec(`00aa11bb${'2'.repeat(56)}`, '2.0.0', 2);
  const hexVersion = rec(`ffffffff${'3'.repeat(56)}`, '00aa11bb', 3);

  it('reads 8 to 64 lowercase hex as a prefix, nothing else', () => {
    assert.equal(isReleasePrefix('00aa11bb'), true);
    assert.equal(isReleasePrefix('00aa11b'), false);
    assert.equal(isReleasePrefix('00AA11BB'), false);
    assert.equal(isReleasePrefix('a'.repeat(65)), false);
    assert.equal(isReleasePrefix('1.0.0'), false);
  });

  it('a full id wins outright, even when it is also some version', () => {
    assert.deepEqual(decideReleaseRef(a.id, [a, b, rec('9'.repeat(64), a.id, 9)]), { ok: true, release: a });
  });

  it('one match by prefix or version resolves; none is unknown', () => {
    assert.deepEqual(decideReleaseRef('2.0.0', [a, b]), { ok: true, release: b });
    assert.deepEqual(decideReleaseRef(`00aa11bb${'2'.repeat(10)}`, [a, b]), { ok: true, release: b });
    assert.deepEqual(decideReleaseRef('3.0.0', [a, b]), { ok: false, reason: 'unknown' });
    assert.deepEqual(decideReleaseRef('00aa11b', [a, b]), { ok: false, reason: 'unknown' });
  });

  it('several matches are ambiguous, newest first, counting a version that looks like a prefix', () => {
    assert.deepEqual(decideReleaseRef('00aa11bb', [a, b]), { ok: false, reason: 'ambiguous', candidates: [b, a] });
    assert.deepEqual(decideReleaseRef('00aa11bb', [a, hexVersion]), { ok: false, reason: 'ambiguous', candidates: [hexVersion, a] });
    assert.deepEqual(decideReleaseRef('00aa11bb', [a, a]), { ok: true, release: a }, 'one release found twice is one match');
  });
});
