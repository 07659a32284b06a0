// The one retry-delay formula: exponential to a cap, full/equal/no jitter, random source pinned.
import assert from 'node:assert/strict';
import { backoffCeiling, backoffDelay } from '../../shared/backoff.js';

describe('shared/backoff', () => {
  const p = { baseMs: 100, capMs: 1000 };

  it('doubles from the base and stops at the cap, without overflowing on huge attempts', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 10, 1e9].map((n) => backoffCeiling(n, p)), [100, 200, 400, 800, 1000, 1000, 1000]);
    assert.equal(backoffCeiling(-1, p), 100, 'a negative attempt is the first');
    assert.ok(Number.isFinite(backoffCeiling(5000, { baseMs: 1, capMs: Number.MAX_SAFE_INTEGER })));
  });

  it('full jitter (the default): anywhere from 0 up to the ceiling', () => {
    assert.deepEqual([0, 3, 9].map((n) => backoffDelay(n, p, () => 0)), [0, 0, 0]);
    assert.deepEqual([0, 3, 9].map((n) => backoffDelay(n, p, () => 0.999999)), [99, 799, 999]);
    assert.equal(backoffDelay(2, { ...p, jitter: 'full' }, () => 0.5), 200);
  });

  it('equal jitter: at least half the ceiling, never a 0 ms loop', () => {
    const e = { ...p, jitter: 'equal' as const };
    assert.deepEqual([0, 1, 4].map((n) => backoffDelay(n, e, () => 0)), [50, 100, 500]);
    assert.deepEqual([0, 1, 4].map((n) => backoffDelay(n, e, () => 1)), [100, 200, 1000]);
  });

  it('no jitter: the ceiling, whatever the random source says', () => {
    const n = { ...p, jitter: 'none' as const };
    assert.deepEqual([0, 1, 2, 5].map((a) => backoffDelay(a, n, () => 0)), [100, 200, 400, 1000]);
  });

  it('every delay is a whole number within [0, cap]', () => {
    for (const jitter of ['full', 'equal', 'none'] as const) {
      for (let a = 0; a < 40; a++) {
        const d = backoffDelay(a, { baseMs: 3, capMs: 777, jitter }, Math.random);
        assert.ok(Number.isInteger(d) && d >= 0 && d <= 777, `${jitter} ${a}: ${d}`);
      }
    }
  });
});
