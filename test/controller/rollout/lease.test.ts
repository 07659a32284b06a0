// The leases one controller process holds (controller/rollout/lease.ts), on both store engines: a lease past its
// expiry on this process's clock is confirmed by a renewal before the driver acts, or given up when another took it.
import assert from 'node:assert/strict';
import { RolloutLeases } from '../../../controller/rollout/lease.js';
import type { Store } from '../../../controller/store/index.js';
import { silentLogger } from '../../../shared/logger.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { describeForEachStoreEngine } from '../../helpers/store-engines.js';

const TTL = 10_000;
const STRATEGY = { canary: 0, batch: { count: 0 }, maxParallel: 1, maxFailures: { count: 0 }, pauseBetweenMs: 0, hostDeadlineMs: 60_000 };

describeForEachStoreEngine('rollout leases of one process', function (engine) {
  this.timeout(20_000);
  let store: Store;
  let clock: FakeClock;
  beforeEach(async () => {
    store = await engine.openStore();
    clock = new FakeClock();
    await store.createRollout({
      id: 'r1', releaseId: 'a'.repeat(64), version: '1.0.0', kind: 'agent', state: 'rolling', reason: null, strategy: STRATEGY, budget: 0, currentWave: 0,
      waveCount: 1, waveEndedAt: null, canaryAccepted: false, createdBy: 'op', createdAt: clock.now(), updatedAt: clock.now(), endedAt: null,
    }, [], []);
  });
  afterEach(async () => {
    await store.close();
  });
  // No renewal timer fires in these cases: the process is frozen between its grant and its next act.
  const leases = (holder: string) => new RolloutLeases({ store, clock, logger: silentLogger(), onRenewed: () => undefined, options: { holder, exclusive: false, ttlMs: TTL, renewMs: 1e9, pollMs: 1e9 } });

  it('confirms a fresh lease without a write, and renews one past its expiry that nobody took', async () => {
    const a = leases('a');
    const tenure = (await a.acquire('r1'))!;
    assert.deepEqual(tenure.fence, { holder: 'a', token: 1 });
    assert.equal(await a.acquire('r1'), undefined, 'one tenure at a time');
    const granted = clock.now() + TTL;
    assert.equal(await a.confirm(tenure), true);
    assert.equal((await store.getRolloutLease('r1'))?.expiresAt, granted, 'not renewed: still fresh');
    clock.advance(TTL * 3);
    assert.equal(await a.confirm(tenure), true, 'still its own: renewed');
    assert.equal((await store.getRolloutLease('r1'))?.expiresAt, clock.now() + TTL);
    a.stop();
    await a.releaseAll();
    assert.equal((await store.getRolloutLease('r1'))?.holder, null);
  });

  it('gives the rollout up when, past its expiry, another process holds it: nothing more is written under the old token', async () => {
    const a = leases('a');
    const tenure = (await a.acquire('r1'))!;
    clock.advance(TTL);
    assert.deepEqual(await store.acquireRolloutLease('r1', 'b', clock.now(), TTL), { token: 2 });
    assert.equal(await a.confirm(tenure), false);
    assert.equal(tenure.lost, true);
    assert.equal(a.get('r1'), undefined);
    await a.release(tenure);
    assert.deepEqual([(await store.getRolloutLease('r1'))?.holder, (await store.getRolloutLease('r1'))?.token], ['b', 2], 'the lost tenure cannot release what b holds');
  });
});
