// Probe judgement and the watch window with a scripted health source (the integration tests use real agents).
import assert from 'node:assert/strict';
import { monotonicClock, type MonotonicClock } from '../../shared/clock.js';
import type { AgentHealth } from '../../shared/wire.js';
import { judgeHealth, waitHealthy, watchWindow } from '../../updater/probe.js';

const ID = 'a'.repeat(64);
const health = (over: Partial<AgentHealth> = {}): AgentHealth => ({ status: 'ok', release: ID, version: '1', pid: 10, startedAt: 't0', services: [], ...over });

function scripted(answers: Array<AgentHealth | Error>): () => Promise<AgentHealth> {
  let i = 0;
  return async () => {
    const a = answers[Math.min(i++, answers.length - 1)]!;
    if (a instanceof Error) throw a;
    return a;
  };
}

describe('probe', () => {
  it('judges healthy only with status ok AND the expected release id', () => {
    assert.equal(judgeHealth(health(), ID), undefined);
    assert.match(judgeHealth(health({ release: 'b'.repeat(64) }), ID)!, /reports release bbbbbbbbbbbb, expected aaaaaaaaaaaa/);
    assert.match(judgeHealth(health({ status: 'degraded' }), ID)!, /status degraded/);
  });

  it('waits through connection errors and the old id until the new agent answers', async () => {
    const r = await waitHealthy({ fetch: scripted([new Error('ECONNREFUSED'), health({ release: 'b'.repeat(64) }), health()]), expectId: ID, deadlineMs: 2_000, intervalMs: 1, backoffMaxMs: 2 });
    assert.equal(r.ok, true);
  });

  it('gives up at the deadline with the last reason', async () => {
    const r = await waitHealthy({ fetch: scripted([health({ status: 'degraded' })]), expectId: ID, deadlineMs: 50, intervalMs: 5, backoffMaxMs: 10 });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /not healthy within 50 ms: agent reports status degraded/);
  });

  it('does not wait for the deadline when the new agent itself says failing (its verdict is sticky)', async () => {
    const t0 = Date.now();
    const r = await waitHealthy({ fetch: scripted([health({ status: 'degraded' }), health({ status: 'failing' })]), expectId: ID, deadlineMs: 60_000, intervalMs: 1, backoffMaxMs: 2 });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /reports status failing/);
    assert.ok(Date.now() - t0 < 5_000);
  });

  it('stops at once when the agent process died (signal)', async () => {
    const ac = new AbortController();
    ac.abort('agent exited (code 3, signal null)');
    const r = await waitHealthy({ fetch: scripted([new Error('ECONNREFUSED')]), expectId: ID, deadlineMs: 60_000, intervalMs: 1_000, backoffMaxMs: 1_000, signal: ac.signal });
    assert.deepEqual(r, { ok: false, reason: 'agent exited (code 3, signal null)' });
  });

  it('fails the watch window on a restart (new pid) and on N consecutive failures, passes otherwise', async () => {
    const base = health();
    const restarted = await watchWindow({ fetch: scripted([health(), health({ pid: 11, startedAt: 't1' })]), expectId: ID, windowMs: 500, intervalMs: 5, maxFailures: 3, baseline: base });
    assert.match(restarted.ok ? '' : restarted.reason, /restarted inside the watch window/);
    const failing = await watchWindow({ fetch: scripted([health(), new Error('timeout'), new Error('timeout'), new Error('timeout')]), expectId: ID, windowMs: 500, intervalMs: 5, maxFailures: 3, baseline: base });
    assert.match(failing.ok ? '' : failing.reason, /3 failed probes inside the watch window/);
    const flaky = await watchWindow({ fetch: scripted([new Error('blip'), health(), new Error('blip'), health()]), expectId: ID, windowMs: 60, intervalMs: 5, maxFailures: 2, baseline: base });
    assert.equal(flaky.ok, true);
  });
});

describe('probe: clock seam', () => {
  /** Virtual monotonic time: a pause advances it at once, so no test waits, and the wall clock plays no part. */
  function virtualClock(): MonotonicClock {
    let t = 0;
    return {
      now: () => t,
      pause: async (ms, signal) => {
        if (!signal?.aborted) t += Math.max(0, ms);
      },
    };
  }

  async function within<T>(ms: number, p: Promise<T>): Promise<T | 'timed out'> {
    let t: NodeJS.Timeout | undefined;
    const r = await Promise.race([p, new Promise<'timed out'>((resolve) => { t = setTimeout(() => resolve('timed out'), ms); })]);
    clearTimeout(t);
    return r;
  }

  it('times deadlines and windows on a monotonic clock by default (a wall-clock step cannot stretch them)', () => {
    assert.ok(Math.abs(monotonicClock.now() - performance.now()) < 1_000);
  });

  it('ends the probe deadline on time, by its clock', async () => {
    const clock = virtualClock();
    const r = await within(3_000, waitHealthy({ fetch: scripted([new Error('ECONNREFUSED')]), expectId: ID, deadlineMs: 200, intervalMs: 10, backoffMaxMs: 20, clock }));
    assert.notEqual(r, 'timed out', 'the deadline must not stretch by the clock step');
    assert.equal(r !== 'timed out' && r.ok, false);
    assert.equal(clock.now(), 200, 'it gives up exactly at its deadline');
  });

  it('ends the watch window on time, by its clock', async () => {
    const clock = virtualClock();
    const r = await within(3_000, watchWindow({ fetch: scripted([health()]), expectId: ID, windowMs: 200, intervalMs: 10, maxFailures: 3, baseline: health(), clock }));
    assert.notEqual(r, 'timed out', 'the window must not stretch by the clock step (the operation lock is held meanwhile)');
    assert.equal(r !== 'timed out' && r.ok, true);
    assert.equal(clock.now(), 200, 'the window lasts exactly its length');
  });
});
