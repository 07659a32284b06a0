// The rollout bench's pure arithmetic: quantiles, per-host push durations and the floor its ratio is taken against.
import assert from 'node:assert/strict';
import { hostDurations, quantile, rolloutFloorMs } from '../../bench/rollout.js';

describe('bench rollout: figures', () => {
  it('quantile is the nearest rank, whatever the input order', () => {
    const xs = [50, 10, 40, 20, 30, 60, 70, 80, 90, 100];
    assert.equal(quantile(xs, 0.5), 50);
    assert.equal(quantile(xs, 0.95), 100);
    assert.equal(quantile(xs, 0), 10);
    assert.equal(quantile([7], 0.95), 7);
    assert.ok(Number.isNaN(quantile([], 0.5)));
    assert.deepEqual(xs.slice(0, 3), [50, 10, 40], 'input left unsorted');
  });

  it('hostDurations: endedAt - startedAt of the hosts that ran, none for pending or skipped ones', () => {
    const host = (startedAt: string | null, endedAt: string | null): { startedAt: string | null; endedAt: string | null } => ({ startedAt, endedAt });
    const hosts = [host('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.500Z'), host(null, null), host('2026-01-01T00:00:00.000Z', null)];
    assert.deepEqual(hostDurations({ hosts } as unknown as Parameters<typeof hostDurations>[0]), [1_500]);
  });

  it('rolloutFloorMs: every byte once through loopback TLS plus one host applying alone', () => {
    // 20 hosts x 20 MB at 400 MB/s = 1 s, plus a 700 ms apply.
    assert.equal(rolloutFloorMs(20, 20e6, 400e6, 700), 1_700);
  });
});
