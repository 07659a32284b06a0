// Bounded concurrency: never more than the limit in flight, every item done, the first failure reported.
import assert from 'node:assert/strict';
import { BoundedPool, forEachLimited, Slots } from '../../shared/limit-concurrency.js';

/** A task the test finishes by hand, so "in flight" is exact and nothing depends on timing. */
function gate(): { promise: Promise<void>; open: () => void; fail: (e: Error) => void } {
  let open!: () => void;
  let fail!: (e: Error) => void;
  const promise = new Promise<void>((resolve, reject) => { open = resolve; fail = reject; });
  return { promise, open, fail };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('shared/limit-concurrency', () => {
  describe('forEachLimited', () => {
    it('runs every item once with at most `limit` in flight', async () => {
      let now = 0;
      let peak = 0;
      const seen: number[] = [];
      await forEachLimited(Array.from({ length: 50 }, (_, i) => i), 4, async (n) => {
        now += 1;
        peak = Math.max(peak, now);
        await tick();
        seen.push(n);
        now -= 1;
      });
      assert.equal(peak, 4);
      assert.deepEqual(seen.sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
    });

    it('after a failure starts nothing new, lets the ones in flight finish, then throws the first failure', async () => {
      const started: number[] = [];
      let finished = 0;
      await assert.rejects(forEachLimited([0, 1, 2, 3, 4, 5, 6, 7], 2, async (n) => {
        started.push(n);
        await tick();
        if (n === 1) throw new Error('first');
        if (n === 2) throw new Error('second');
        finished += 1;
      }), /first/);
      assert.ok(started.length < 8, `stopped early, started ${started.join(',')}`);
      assert.equal(started.length - finished, started.filter((n) => n === 1 || n === 2).length, 'everything started was awaited');
    });

    it('an empty list, a limit above the length and a nonsense limit are fine', async () => {
      await forEachLimited([], 8, () => Promise.reject(new Error('never called')));
      let n = 0;
      await forEachLimited([1, 2], 100, async () => { n += 1; });
      await forEachLimited([1, 2], Number.NaN, async () => { n += 1; });
      await forEachLimited([1, 2], 0, async () => { n += 1; });
      assert.equal(n, 6);
    });
  });

  describe('BoundedPool', () => {
    it('submit waits only while the pool is full; drain waits for all', async () => {
      const pool = new BoundedPool(2);
      const gates = [gate(), gate(), gate()];
      await pool.submit(() => gates[0]!.promise);
      await pool.submit(() => gates[1]!.promise);
      assert.equal(pool.inFlight, 2);
      let third = false;
      const submitting = pool.submit(() => gates[2]!.promise).then(() => { third = true; });
      await tick();
      assert.equal(third, false, 'waits while full');
      gates[0]!.open();
      await submitting;
      assert.equal(third, true);
      let drained = false;
      const draining = pool.drain().then(() => { drained = true; });
      gates[1]!.open();
      await tick();
      assert.equal(drained, false, 'drain waits for the last one');
      gates[2]!.open();
      await draining;
      assert.equal(pool.inFlight, 0);
    });

    it('reports every failure to onFailure, then refuses submits and rejects drain with the first', async () => {
      const failures: unknown[] = [];
      const pool = new BoundedPool(3, (e) => failures.push(e));
      const a = gate();
      const b = gate();
      await pool.submit(() => a.promise);
      await pool.submit(() => b.promise);
      a.fail(new Error('disk full'));
      b.fail(new Error('later'));
      await pool.settle();
      assert.deepEqual(failures.map((e) => (e as Error).message), ['disk full', 'later']);
      await assert.rejects(pool.submit(() => Promise.resolve()), /disk full/);
      await assert.rejects(pool.drain(), /disk full/);
    });

    it('a task that throws synchronously counts as a failure, not a stuck slot', async () => {
      const pool = new BoundedPool(1);
      await pool.submit(() => { throw new Error('sync'); });
      await assert.rejects(pool.drain(), /sync/);
      assert.equal(pool.inFlight, 0);
      assert.throws(() => new BoundedPool(0), RangeError);
    });
  });

  describe('Slots', () => {
    it('grants at most `limit`, first come first served, and a release (once) hands the slot on', async () => {
      const slots = new Slots(2);
      const a = await slots.acquire();
      const b = await slots.acquire();
      const order: string[] = [];
      const c = slots.acquire().then((r) => { order.push('c'); return r; });
      const d = slots.acquire().then((r) => { order.push('d'); return r; });
      await tick();
      assert.deepEqual([slots.inUse, slots.waiting, order], [2, 2, []]);
      a();
      a();
      const releaseC = await c;
      await tick();
      assert.deepEqual([slots.inUse, slots.waiting, order], [2, 1, ['c']], 'a second release of the same slot grants nothing');
      b();
      (await d)();
      releaseC();
      assert.deepEqual([slots.inUse, slots.waiting, order], [0, 0, ['c', 'd']]);
    });

    it('an abort while waiting rejects with its reason and takes no slot; an aborted signal is refused at once', async () => {
      const slots = new Slots(1);
      const held = await slots.acquire();
      const ac = new AbortController();
      const waiting = slots.acquire(ac.signal);
      ac.abort(new Error('deadline'));
      await assert.rejects(waiting, /deadline/);
      assert.deepEqual([slots.inUse, slots.waiting], [1, 0]);
      await assert.rejects(slots.acquire(ac.signal), /deadline/);
      held();
      assert.equal(slots.inUse, 0);
      assert.throws(() => new Slots(0), RangeError);
    });
  });
});
