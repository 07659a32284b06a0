// One driver per rollout, with two rollout engines (two replicas) on two store instances of one database and fake
// updaters: replica A starts a rollout and freezes mid-push (its clock stands still: no renewal, as under SIGSTOP);
// replica B takes the rollout over once the lease expired on its clock, settles the host A left pushing from its
// updater's records and finishes. When A wakes, its writes are refused by the fencing token and it stops driving.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { createRolloutEngine, type RolloutEngine } from '../../../controller/rollout/engine.js';
import type { Strategy } from '../../../controller/rollout/model.js';
import type { FleetHost } from '../../../controller/rollout/targets.js';
import type { Store } from '../../../controller/store/index.js';
import { systemClock } from '../../../shared/clock.js';
import { sequentialIds } from '../../../shared/ids.js';
import { LIMITS } from '../../../shared/limits.js';
import { REDACT_PATHS } from '../../../shared/logger.js';
import type { RolloutJson } from '../../../shared/rollout-api.js';
import { deferred } from '../../helpers/deferred.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { DirectoryReleaseSource, startFakeUpdater, type FakeUpdater } from '../../helpers/fake-updater.js';
import { mintIdentity, tempDir } from '../../helpers/pki.js';
import { describeForEachStoreEngine } from '../../helpers/store-engines.js';

const TTL = LIMITS['rollout.lease-ttl'].value;
const RENEW = LIMITS['rollout.lease-renew-interval'].value;
const POLL = LIMITS['rollout.lease-poll-interval'].value;

interface LogLine { level: number; msg: string; rollout?: string; host?: string; holder?: string; leaseToken?: number; why?: string }

/** A logger whose lines a test can await (bounded), instead of sleeping until something was probably logged. */
function capturedLogger(): { logger: Logger; lines: LogLine[]; next(what: string, ok: (l: LogLine) => boolean): Promise<LogLine> } {
  const lines: LogLine[] = [];
  const waiters = new Set<{ ok: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  // The controller's redaction, so a field the logs would hide (a `token`) shows here as it would there.
  const logger = pino({ level: 'info', redact: [...REDACT_PATHS] }, new Writable({
    write(chunk: Buffer, _enc, cb) {
      const line = JSON.parse(chunk.toString()) as LogLine;
      lines.push(line);
      for (const w of [...waiters]) if (w.ok(line)) w.resolve(line);
      cb();
    },
  }));
  const next = (what: string, ok: (l: LogLine) => boolean): Promise<LogLine> => {
    const found = lines.find(ok);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`timed out waiting for the log line: ${what}`));
      }, 10_000);
      const waiter = { ok, resolve: (l: LogLine) => {
        clearTimeout(timer);
        waiters.delete(waiter);
        resolve(l);
      } };
      waiters.add(waiter);
    });
  };
  return { logger, lines, next };
}

describeForEachStoreEngine('rollout leases: one driver per rollout across two replicas on one database', function (storeEngine) {
  this.timeout(30_000);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let stores: Store[];
  let releases: DirectoryReleaseSource;
  let release: string;
  let fakes: FakeUpdater[];
  let engines: RolloutEngine[];
  let material: Awaited<ReturnType<typeof mintIdentity>>['material'];

  const fleet = { list: async (): Promise<FleetHost[]> => fakes.map((f) => ({ name: f.name, address: f.address, labels: {}, release: f.active?.id ?? null, updaterOnline: true, reconnectBy: null })) };
  const replica = (holder: string, store: Store, clock: FakeClock, logger: Logger): RolloutEngine => {
    const e = createRolloutEngine({
      store, releases, fleet, material: () => material, clock, ids: sequentialIds(), logger, pushClock: systemClock,
      pushTiming: { settleGraceMs: 5_000, pollIntervalMs: 20 }, lease: { holder, exclusive: false },
    });
    engines.push(e);
    return e;
  };
  const strategy: Partial<Strategy> = { canary: 0, batch: { count: 0 }, maxParallel: 1, maxFailures: { count: 0 }, pauseBetweenMs: 0, hostDeadlineMs: 10_000 };
  /** Wait, on the engine's own events, until the rollout satisfies `ok` (bounded). */
  const until = (e: RolloutEngine, id: string, what: string, ok: (r: RolloutJson) => boolean): Promise<RolloutJson> => new Promise((resolve, reject) => {
    const check = (): void => void e.get(id).then((r) => {
      if (r && ok(r)) finish(() => resolve(r));
    }, (err: unknown) => finish(() => reject(err as Error)));
    const unsubscribe = e.subscribe(id, check);
    const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${what}`))), 10_000);
    const finish = (f: () => void): void => {
      clearTimeout(timer);
      unsubscribe();
      f();
    };
    check();
  });
  const lostLine = (l: LogLine): boolean => l.msg === 'lost the rollout\'s lease; no longer driving it';

  before(async () => {
    material = (await mintIdentity('controller', 'controller')).material;
  });
  beforeEach(async () => {
    dir = await tempDir('swarm-lease-');
    stores = await storeEngine.openStores(2);
    releases = new DirectoryReleaseSource(dir.path);
    release = (await releases.add('2.0.0', Buffer.alloc(64 * 1024, 5))).id;
    fakes = [];
    engines = [];
    for (let i = 1; i <= 3; i++) fakes.push(await startFakeUpdater(`h${i}`));
  });
  afterEach(async () => {
    for (const e of engines) await e.close();
    await Promise.all(fakes.map((f) => f.close()));
    for (const s of stores) await s.close();
    await dir.cleanup();
  });

  /** A starts a rollout and freezes while h1's update runs; B, which does not drive it meanwhile, takes it over after the TTL. */
  async function freezeAndTakeOver() {
    const [storeA, storeB] = stores as [Store, Store];
    const clockA = new FakeClock();
    const clockB = new FakeClock(clockA.now());
    const logA = capturedLogger();
    const logB = capturedLogger();
    const commit = deferred();
    fakes[0]!.behave = () => ({ commitAfter: commit.promise });
    const a = replica('replica-a', storeA, clockA, logA.logger);
    const b = replica('replica-b', storeB, clockB, logB.logger);
    await a.resumeUnsettled();
    const { id } = await a.start({ release, targets: { all: true }, strategy, kind: 'agent' }, 'op');
    await fakes[0]!.pushed(1);
    // B starts while A drives: it finds the lease held and does not drive.
    await b.resumeUnsettled();
    assert.deepEqual(await storeB.getRolloutLease(id), { rolloutId: id, holder: 'replica-a', token: 1, expiresAt: clockA.now() + TTL });
    assert.equal(logB.lines.filter((l) => l.rollout === id && l.msg.startsWith('holding')).length, 0, 'B does not drive what A holds');
    // A is frozen (its clock stands still); past the TTL on B's clock, B's poll takes the rollout over.
    const takeoverAt = clockB.now() + TTL + POLL;
    clockB.advance(TTL + POLL);
    await logB.next('B settles h1 from its records', (l) => l.rollout === id && l.host === 'h1' && l.msg.startsWith('found the host pushing'));
    const lease = (await storeA.getRolloutLease(id))!;
    assert.deepEqual([lease.holder, lease.token], ['replica-b', 2]);
    return { id, a, b, clockA, logA, logB, commit, takeoverAt };
  }

  /** B finished alone: one update per host, and every event after the takeover is B's (A's clock would date it before). */
  async function assertFinishedByB(b: RolloutEngine, id: string, takeoverAt: number): Promise<void> {
    const done = await until(b, id, 'B to finish the rollout', (r) => r.state === 'done');
    assert.deepEqual(done.hosts.map((h) => [h.name, h.state]), [['h1', 'succeeded'], ['h2', 'succeeded'], ['h3', 'succeeded']]);
    assert.deepEqual(fakes.map((f) => f.pushes.filter((p) => p === release).length), [1, 1, 1], 'each updater saw exactly one push for the release');
    assert.deepEqual(done.events.map((e) => [e.type, e.host ?? null]), [
      ['started', null], ['wave-started', null], ['host-pushing', 'h1'],
      ['host-succeeded', 'h1'], ['host-pushing', 'h2'], ['host-succeeded', 'h2'], ['host-pushing', 'h3'], ['host-succeeded', 'h3'], ['done', null],
    ]);
    for (const e of done.events.slice(3)) assert.ok(Date.parse(e.at) >= takeoverAt, `${e.type} ${e.host ?? ''} was written by B`);
  }

  it('B takes over a frozen A\'s rollout after the TTL and finishes it; A\'s late write of its push outcome is refused and A stops driving', async () => {
    const { id, b, clockA, logA, commit, takeoverAt } = await freezeAndTakeOver();
    // h1's update ends: A (still frozen for its timers, but its push answer arrives) tries to record it under token 1.
    commit.resolve();
    const lost = await logA.next('A to give the rollout up', (l) => l.rollout === id && lostLine(l));
    assert.match(lost.why!, /refused h1's outcome under its fencing token/);
    assert.deepEqual([lost.holder, lost.leaseToken], ['replica-a', 1]);
    await assertFinishedByB(b, id, takeoverAt);
    // A wakes for good: no timer of it drives the rollout again, nothing it does lands.
    const events = (await b.get(id))!.events.length;
    clockA.advance(TTL * 3);
    assert.equal((await b.get(id))!.events.length, events);
    assert.deepEqual(fakes.map((f) => f.pushes.length), [1, 1, 1]);
    assert.equal(logA.lines.filter(lostLine).length, 1);
    assert.equal((await stores[0]!.getRolloutLease(id))?.holder, null, 'B gave the lease back once the rollout settled');
  });

  it('a frozen A that wakes before its push ends learns at its next renewal that it lost the rollout, and writes nothing', async () => {
    const { id, b, clockA, logA, commit, takeoverAt } = await freezeAndTakeOver();
    clockA.advance(RENEW);
    const lost = await logA.next('A\'s renewal to be refused', (l) => l.rollout === id && lostLine(l));
    assert.match(lost.why!, /took it over/);
    commit.resolve();
    await assertFinishedByB(b, id, takeoverAt);
    assert.equal(logA.lines.filter(lostLine).length, 1);
  });

  it('a controller alone on its database (SQLite), restarted after a kill, takes its predecessor\'s leases at start without waiting for the TTL', async () => {
    const [storeA, storeB] = stores as [Store, Store];
    const clock = new FakeClock();
    const commit = deferred();
    fakes[0]!.behave = () => ({ commitAfter: commit.promise });
    const logA = capturedLogger();
    // The killed controller: never closed (a kill hands nothing back), its lease still valid on the clock.
    const killed = replica('killed', storeA, new FakeClock(clock.now()), logA.logger);
    const { id } = await killed.start({ release, targets: { all: true }, strategy, kind: 'agent' }, 'op');
    await fakes[0]!.pushed(1);
    const restarted = createRolloutEngine({
      store: storeB, releases, fleet, material: () => material, clock, ids: sequentialIds(), logger: capturedLogger().logger, pushClock: systemClock,
      pushTiming: { settleGraceMs: 5_000, pollIntervalMs: 20 }, lease: { holder: 'restarted', exclusive: true },
    });
    engines.push(restarted);
    await restarted.resumeUnsettled();
    assert.deepEqual([(await storeB.getRolloutLease(id))?.holder, (await storeB.getRolloutLease(id))?.token], ['restarted', 2], 'taken at once');
    commit.resolve();
    const done = await until(restarted, id, 'the restarted controller to finish', (r) => r.state === 'done');
    assert.deepEqual(done.hosts.map((h) => h.state), ['succeeded', 'succeeded', 'succeeded']);
    assert.deepEqual(fakes.map((f) => f.pushes.length), [1, 1, 1]);
    await logA.next('the old process to be fenced off', (l) => l.rollout === id && lostLine(l));
  });

  it('a driver that cannot renew gives the rollout up once its lease expired, writes nothing more, and takes it back by the takeover path when it can', async () => {
    let failing = false;
    const flaky: Store = { ...stores[0]!, renewRolloutLease: (...args) => (failing ? Promise.reject(new Error('connection terminated')) : stores[0]!.renewRolloutLease(...args)) };
    const clock = new FakeClock();
    const log = capturedLogger();
    const commit = deferred();
    fakes[0]!.behave = () => ({ commitAfter: commit.promise });
    const e = replica('replica-a', flaky, clock, log.logger);
    await e.resumeUnsettled();
    const { id } = await e.start({ release, targets: { all: true }, strategy, kind: 'agent' }, 'op');
    await fakes[0]!.pushed(1);
    failing = true;
    clock.advance(RENEW);
    await log.next('a failed renewal, retried', (l) => l.rollout === id && l.msg.startsWith('renewing the rollout\'s lease failed'));
    assert.equal(log.lines.filter(lostLine).length, 0, 'still its own until it expires');
    clock.advance(TTL);
    const lost = await log.next('the lease given up', (l) => l.rollout === id && lostLine(l));
    assert.match(lost.why!, /could not renew it before it expired/);
    failing = false;
    // h1's update ends; its outcome is not recorded under the lost tenure: the next tenure settles it from the records.
    commit.resolve();
    clock.advance(POLL);
    const done = await until(e, id, 'the rollout taken back and finished', (r) => r.state === 'done');
    assert.deepEqual(done.hosts.map((h) => h.state), ['succeeded', 'succeeded', 'succeeded']);
    assert.deepEqual(fakes.map((f) => f.pushes.length), [1, 1, 1]);
    assert.equal(done.events.filter((ev) => ev.type === 'host-succeeded' && ev.host === 'h1').length, 1);
    assert.ok(log.lines.some((l) => l.rollout === id && l.host === 'h1' && l.msg.startsWith('found the host pushing')), 'h1 settled from its records');
  });

  it('an operator acts from either replica: a pause taken on B holds A\'s driving, a resume on B is picked up at A\'s next renewal', async () => {
    const [storeA, storeB] = stores as [Store, Store];
    const clockA = new FakeClock();
    const clockB = new FakeClock(clockA.now());
    const gate = deferred();
    fakes[0]!.behave = () => ({ commitAfter: gate.promise });
    const a = replica('replica-a', storeA, clockA, capturedLogger().logger);
    const b = replica('replica-b', storeB, clockB, capturedLogger().logger);
    const { id } = await a.start({ release, targets: { all: true }, strategy, kind: 'agent' }, 'op');
    await fakes[0]!.pushed(1);
    assert.equal((await b.pause(id, 'alice')).state, 'paused');
    gate.resolve();
    const held = await until(a, id, 'h1 to settle under A', (r) => r.hosts[0]!.state === 'succeeded');
    assert.deepEqual([held.state, fakes[1]!.pushes.length], ['paused', 0]);
    assert.equal((await b.resume(id, 'alice')).state, 'rolling');
    assert.equal((await storeB.getRolloutLease(id))?.holder, 'replica-a', 'B does not take what A holds');
    clockA.advance(RENEW);
    const done = await until(a, id, 'A to finish after its renewal', (r) => r.state === 'done');
    assert.deepEqual(done.hosts.map((h) => h.state), ['succeeded', 'succeeded', 'succeeded']);
    assert.deepEqual(fakes.map((f) => f.pushes.length), [1, 1, 1]);
  });
});
