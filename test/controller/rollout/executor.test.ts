// The rollout engine in-process: a SQLite store (and the same cases on a PostgreSQL store), fake updaters over real
// mTLS, and a fake clock for the rollout's own timing. Canary and budget pauses, operator pause/resume/abort, the
// pause between waves, resume after a controller restart without pushing any host twice, and fleet rollback.
import assert from 'node:assert/strict';
import { createRolloutEngine, type RolloutEngine } from '../../../controller/rollout/engine.js';
import type { Strategy } from '../../../controller/rollout/model.js';
import type { FleetHost } from '../../../controller/rollout/targets.js';
import type { Store } from '../../../controller/store/index.js';
import { systemClock } from '../../../shared/clock.js';
import { sequentialIds } from '../../../shared/ids.js';
import { silentLogger } from '../../../shared/logger.js';
import type { RolloutJson } from '../../../shared/rollout-api.js';
import { deferred } from '../../helpers/deferred.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { DirectoryReleaseSource, startFakeUpdater, type FakeAction, type FakeUpdater } from '../../helpers/fake-updater.js';
import { mintIdentity, tempDir } from '../../helpers/pki.js';
import { describeForEachStoreEngine } from '../../helpers/store-engines.js';

const OLD = 'b'.repeat(64);
const refuse: FakeAction = { refuse: { status: 400, code: 'SWARM_ERR_TAR_UNSAFE_PATH', message: 'entry ../x leaves the release' } };
const rollBack: FakeAction = { rollBack: { code: 'SWARM_ERR_UPDATER_AGENT_UNHEALTHY', message: 'the new agent did not become healthy', detail: 'status failing' } };

describeForEachStoreEngine('rollout engine (in-process, fake updaters, fake clock)', function (storeEngine) {
  this.timeout(30_000);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  let releases: DirectoryReleaseSource;
  let release: string;
  let clock: FakeClock;
  let fakes: FakeUpdater[];
  let offline: Set<string>;
  let reconnecting: Map<string, number>;
  let engines: RolloutEngine[];
  let material: Awaited<ReturnType<typeof mintIdentity>>['material'];

  const fleet = { list: async (): Promise<FleetHost[]> => fakes.map((f) => ({ name: f.name, address: f.address, labels: { site: f.name === 'h1' ? 'a' : 'b' }, release: f.active?.id ?? null, updaterOnline: !offline.has(f.name) && !reconnecting.has(f.name), reconnectBy: reconnecting.get(f.name) ?? null })) };
  const engine = (): RolloutEngine => {
    const e = createRolloutEngine({
      store, releases, fleet, material: () => material, clock, ids: sequentialIds(), logger: silentLogger(), pushClock: systemClock,
      pushTiming: { settleGraceMs: 2000, pollIntervalMs: 20 },
    });
    engines.push(e);
    return e;
  };
  const hosts = async (n: number): Promise<FakeUpdater[]> => {
    for (let i = 1; i <= n; i++) fakes.push(await startFakeUpdater(`h${i}`));
    return fakes;
  };
  const strategy = (s: Partial<Strategy>): Partial<Strategy> => ({ canary: 0, batch: { count: 0 }, maxParallel: 10, maxFailures: { count: 0 }, pauseBetweenMs: 0, hostDeadlineMs: 10_000, ...s });
  /** Wait, on the engine's own events, until the rollout satisfies `ok` (bounded). */
  const until = async (e: RolloutEngine, id: string, what: string, ok: (r: RolloutJson) => boolean): Promise<RolloutJson> => {
    const check = async (): Promise<RolloutJson | undefined> => {
      const r = await e.get(id);
      return r && ok(r) ? r : undefined;
    };
    // Subscribed before the first read: an event landing between the two would otherwise be missed for good.
    const found = deferred<RolloutJson>();
    const unsubscribe = e.subscribe(id, () => void check().then((r) => r && found.resolve(r)));
    void check().then((r) => r && found.resolve(r));
    let done: RolloutJson;
    const timer = setTimeout(() => void e.get(id).then((r) => found.resolve(Promise.reject(new Error(`timed out waiting for ${what}: ${JSON.stringify({ state: r?.state, hosts: r?.hosts.map((h) => `${h.name}:${h.state}`) })}`)) as never)), 10_000);
    try {
      done = await found.promise;
      return done;
    } finally {
      clearTimeout(timer);
      unsubscribe();
    }
  };
  const state = (r: RolloutJson, name: string): string => r.hosts.find((h) => h.name === name)!.state;

  before(async () => {
    material = (await mintIdentity('controller', 'controller')).material;
  });
  beforeEach(async () => {
    dir = await tempDir('swarm-rollout-');
    store = await storeEngine.openStore();
    releases = new DirectoryReleaseSource(dir.path);
    release = (await releases.add('2.0.0', Buffer.alloc(64 * 1024, 3))).id;
    clock = new FakeClock();
    fakes = [];
    offline = new Set();
    reconnecting = new Map();
    engines = [];
  });
  afterEach(async () => {
    for (const e of engines) await e.close();
    await Promise.all(fakes.map((f) => f.close()));
    await store.close();
    await dir.cleanup();
  });

  it('pauses on a failed canary and contacts no other host', async () => {
    const [h1, ...rest] = await hosts(4);
    h1!.behave = () => rollBack;
    const e = engine();
    const started = await e.start({ release: '2.0.0', targets: { all: true }, strategy: strategy({ canary: 1, maxFailures: { count: 3 } }), kind: 'agent' }, 'spiffe://test/operator/admin');
    assert.deepEqual(started.hosts.map((h) => [h.name, h.wave]), [['h1', 0], ['h2', 1], ['h3', 1], ['h4', 1]]);
    const r = await until(e, started.id, 'the canary pause', (x) => x.state === 'paused');
    assert.equal(r.reason, 'canary-failed');
    assert.deepEqual(r.hosts[0]!.error, { code: 'SWARM_ERR_UPDATER_AGENT_UNHEALTHY', message: 'the new agent did not become healthy', detail: 'status failing' });
    assert.equal(r.hosts[0]!.from, OLD);
    assert.deepEqual(rest.map((f) => f.pushes.length), [0, 0, 0]);
    assert.deepEqual(r.events.map((x) => x.type), ['started', 'wave-started', 'host-pushing', 'host-rolled-back', 'paused']);
    assert.deepEqual(r.events.map((x) => x.seq), [1, 2, 3, 4, 5]);
    assert.deepEqual([r.events[4]!.actor, r.events[4]!.reason], ['system', 'canary-failed']);
    // Resuming accepts the canary (its failure now counts only against the budget) and the rollout goes on.
    await e.resume(started.id, 'spiffe://test/operator/admin');
    const done = await until(e, started.id, 'done', (x) => x.state === 'done');
    assert.deepEqual(done.hosts.map((h) => h.state), ['rolled-back', 'succeeded', 'succeeded', 'succeeded']);
    assert.deepEqual(done.budget, { allowed: 3, used: 1 });
  });

  it('pauses at the second failure with a budget of 1, lets pushes in flight finish, and resumes with a larger budget', async () => {
    const fs = await hosts(5);
    const gate = deferred<FakeAction>();
    // h2's refusal comes once h4 has taken h1's slot, whatever the store's speed: two pushes are in flight at the pause.
    const secondFailure = deferred<FakeAction>();
    fs[0]!.behave = () => refuse;
    fs[1]!.behave = () => ({ gate: secondFailure.promise });
    fs[2]!.behave = () => ({ gate: gate.promise });
    fs[3]!.behave = () => ({ gate: gate.promise });
    const e = engine();
    const { id } = await e.start({ release: release.slice(0, 12), targets: { all: true }, strategy: strategy({ maxParallel: 3, maxFailures: { count: 1 } }), kind: 'agent' }, 'op');
    await fs[3]!.pushed(1);
    secondFailure.resolve(refuse);
    const paused = await until(e, id, 'the budget pause', (x) => x.state === 'paused');
    assert.equal(paused.reason, 'budget-exceeded');
    assert.deepEqual(paused.hosts.map((h) => h.state), ['failed', 'failed', 'pushing', 'pushing', 'pending']);
    assert.deepEqual(paused.hosts[0]!.error, { code: 'SWARM_ERR_TAR_UNSAFE_PATH', message: 'entry ../x leaves the release' });
    gate.resolve('commit');
    const settled = await until(e, id, 'in-flight pushes to finish', (x) => x.hosts.every((h) => h.state !== 'pushing'));
    assert.deepEqual([settled.state, settled.hosts.map((h) => h.state)], ['paused', ['failed', 'failed', 'succeeded', 'succeeded', 'pending']]);
    assert.equal(fs[4]!.pushes.length, 0, 'nothing new started while paused');
    await assert.rejects(e.pause(id, 'op'), { code: 'SWARM_ERR_ROLLOUT_STATE' });
    const resumed = await e.resume(id, 'op', { count: 5 });
    assert.deepEqual(resumed.budget.allowed, 5);
    assert.deepEqual(resumed.strategy.maxFailures, { count: 5 });
    const done = await until(e, id, 'done', (x) => x.state === 'done');
    assert.equal(state(done, 'h5'), 'succeeded');
    assert.ok(done.events.some((x) => x.type === 'resumed' && x.actor === 'op'));
  });

  it('holds an operator pause (the push in flight finishes), and an abort is final', async () => {
    const fs = await hosts(3);
    const gate = deferred<FakeAction>();
    fs[0]!.behave = () => ({ gate: gate.promise });
    const e = engine();
    const { id } = await e.start({ release, targets: { hosts: ['h1', 'h2', 'h3'] }, strategy: strategy({ maxParallel: 1 }), kind: 'agent' }, 'op');
    await fs[0]!.pushed(1);
    const paused = await e.pause(id, 'alice');
    assert.deepEqual([paused.state, paused.reason], ['paused', 'operator']);
    gate.resolve('commit');
    const held = await until(e, id, 'h1 to finish', (x) => state(x, 'h1') === 'succeeded');
    assert.deepEqual([held.state, state(held, 'h2'), fs[1]!.pushes.length], ['paused', 'pending', 0]);
    const gate2 = deferred<FakeAction>();
    fs[1]!.behave = () => ({ gate: gate2.promise });
    await e.resume(id, 'alice');
    await fs[1]!.pushed(1);
    const aborted = await e.abort(id, 'bob');
    assert.deepEqual([aborted.state, aborted.reason], ['aborted', 'operator']);
    gate2.resolve('commit');
    const final = await until(e, id, 'h2 to finish', (x) => state(x, 'h2') === 'succeeded');
    assert.deepEqual([final.state, state(final, 'h3'), fs[2]!.pushes.length], ['aborted', 'pending', 0]);
    await assert.rejects(e.resume(id, 'bob'), { code: 'SWARM_ERR_ROLLOUT_STATE' });
    assert.deepEqual(final.events.filter((x) => ['paused', 'resumed', 'aborted'].includes(x.type)).map((x) => [x.type, x.actor]), [['paused', 'alice'], ['resumed', 'alice'], ['aborted', 'bob']]);
  });

  it('waits the pause between waves on the clock, marks an offline host unreachable at its turn, and skips hosts already on the release', async () => {
    const fs = await hosts(4);
    fs[3]!.active = { id: release, version: '2.0.0' };
    offline.add('h3');
    const e = engine();
    const { id } = await e.start({ release, targets: { all: true }, strategy: strategy({ batch: { count: 2 }, pauseBetweenMs: 60_000, maxFailures: { count: 1 } }), kind: 'agent' }, 'op');
    const first = await until(e, id, 'the first wave to end', (x) => x.events.some((ev) => ev.type === 'wave-ended'));
    assert.deepEqual(first.hosts.map((h) => [h.name, h.wave, h.state]), [['h1', 0, 'succeeded'], ['h2', 0, 'succeeded'], ['h4', 0, 'skipped'], ['h3', 1, 'pending']]);
    assert.equal(first.currentWave, 0, 'the next wave waits for the clock');
    clock.advance(59_000);
    assert.equal((await e.get(id))!.currentWave, 0);
    clock.advance(1_000);
    const done = await until(e, id, 'done', (x) => x.state === 'done');
    assert.equal(state(done, 'h3'), 'unreachable');
    assert.equal(done.hosts.find((h) => h.name === 'h3')!.error!.code, 'SWARM_ERR_ROLLOUT_HOST_UNREACHABLE');
    assert.deepEqual([fs[2]!.pushes.length, fs[3]!.pushes.length], [0, 0]);
  });

  it('a host whose channel is still reconnecting at its turn waits for it: pushed once it is back, unreachable once its time is up', async () => {
    const fs = await hosts(3);
    reconnecting.set('h2', clock.now() + 30_000);
    reconnecting.set('h3', clock.now() + 30_000);
    const e = engine();
    const { id } = await e.start({ release, targets: { all: true }, strategy: strategy({ maxFailures: { count: 1 } }), kind: 'agent' }, 'op');
    const waiting = await until(e, id, 'h1 done while h2 and h3 wait', (x) => state(x, 'h1') === 'succeeded');
    assert.deepEqual(waiting.hosts.map((h) => h.state), ['succeeded', 'pending', 'pending'], 'neither pushed nor marked while reconnecting');
    // h2's channel comes back: the next recheck pushes it.
    reconnecting.delete('h2');
    clock.advance(1_000);
    await until(e, id, 'h2 pushed after its channel came back', (x) => state(x, 'h2') === 'succeeded');
    assert.equal(state((await e.get(id))!, 'h3'), 'pending', 'h3 still waits');
    // h3 never comes back: at its time it is offline, and unreachable.
    reconnecting.delete('h3');
    offline.add('h3');
    clock.advance(29_000);
    const done = await until(e, id, 'done', (x) => x.state === 'done');
    assert.deepEqual(done.hosts.map((h) => h.state), ['succeeded', 'succeeded', 'unreachable']);
    assert.deepEqual(fs.map((f) => f.pushes.length), [1, 1, 0]);
  });

  it('after a restart mid-wave settles the host from its updater\'s records, pushes nobody twice, and finishes', async () => {
    const fs = await hosts(3);
    const commit = deferred();
    fs[0]!.behave = () => ({ commitAfter: commit.promise });
    const first = engine();
    const { id } = await first.start({ release, targets: { all: true }, strategy: strategy({ maxParallel: 1 }), kind: 'agent' }, 'op');
    await fs[0]!.pushed(1);
    await first.close();
    assert.equal(state((await first.get(id))!, 'h1'), 'pushing', 'left pushing by the stopped controller');
    commit.resolve();
    const second = engine();
    await second.resumeUnsettled();
    const done = await until(second, id, 'done', (x) => x.state === 'done');
    assert.deepEqual(done.hosts.map((h) => h.state), ['succeeded', 'succeeded', 'succeeded']);
    assert.deepEqual(fs.map((f) => f.pushes.filter((p) => p === release).length), [1, 1, 1], 'each updater saw exactly one update for the release');
  });

  it('fleet rollback --rollout pauses the rollout, takes back exactly the hosts it changed, and refuses one updated again since', async () => {
    const fs = await hosts(4);
    const gate = deferred<FakeAction>();
    fs[3]!.behave = () => ({ gate: gate.promise });
    fs[0]!.prev = { id: 'e'.repeat(64), version: '0.9.0' };
    const e = engine();
    const { id } = await e.start({ release, targets: { all: true }, strategy: strategy({ maxParallel: 3 }), kind: 'agent' }, 'op');
    await until(e, id, 'three hosts to succeed', (x) => x.hosts.filter((h) => h.state === 'succeeded').length === 3);
    // h3 was updated again by someone else since: its prev is no longer what it ran before this rollout.
    fs[2]!.prev = { id: 'f'.repeat(64), version: '3.0.0' };
    // h4's push is let go only once the rollout is paused: it settles, then counts as changed.
    const unsubscribe = e.subscribe(id, (ev) => {
      if (ev.type === 'paused' && ev.reason === 'rollback') gate.resolve('commit');
    });
    const report = await e.rollback({ rollout: id }, 'spiffe://test/operator/admin');
    unsubscribe();
    assert.deepEqual(report.pausedRollouts, [id]);
    const byName = new Map(report.hosts.map((h) => [h.name, h]));
    assert.deepEqual([byName.get('h1')!.state, byName.get('h1')!.release], ['rolled-back', OLD]);
    assert.deepEqual([byName.get('h2')!.state, byName.get('h2')!.release], ['rolled-back', OLD]);
    assert.equal(byName.get('h3')!.state, 'failed');
    assert.equal(byName.get('h3')!.error!.code, 'SWARM_ERR_ROLLBACK_TARGET_MISMATCH');
    assert.equal(fs[2]!.rollbacks, 0, 'not sent further back');
    assert.equal(byName.get('h4')!.state, 'rolled-back', 'the push in flight settled first, then went back');
    const r = (await e.get(id))!;
    assert.deepEqual([r.state, r.reason], ['paused', 'rollback']);
    assert.ok(r.events.some((x) => x.type === 'paused' && x.reason === 'rollback' && x.actor === 'spiffe://test/operator/admin'));
  });

  it('fleet rollback by selector: hosts in parallel, unreachable and failed reported host by host', async () => {
    const fs = await hosts(3);
    fs[1]!.prev = { id: 'e'.repeat(64), version: '0.9.0' };
    fs[2]!.prev = { id: 'e'.repeat(64), version: '0.9.0' };
    offline.add('h3');
    fs[0]!.prev = null;
    const e = engine();
    const all = await e.rollback({ all: true }, 'op');
    assert.deepEqual(all.hosts.map((h) => [h.name, h.state, h.release, h.error?.code ?? null]), [
      ['h1', 'failed', null, 'SWARM_ERR_UPDATER_NO_ROLLBACK_TARGET'], ['h2', 'rolled-back', 'e'.repeat(64), null], ['h3', 'unreachable', null, 'SWARM_ERR_ROLLOUT_HOST_UNREACHABLE'],
    ]);
    const sel = await e.rollback({ selector: 'site=a' }, 'op');
    assert.deepEqual(sel.hosts.map((h) => h.name), ['h1']);
  });
});
