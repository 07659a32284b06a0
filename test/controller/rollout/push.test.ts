// Pushes against fake updaters over real mTLS: every way an updater answers (or does not) maps to one host state,
// and a dropped connection is settled from the updater's records, never guessed.
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { rollbackHosts } from '../../../controller/rollout/fleet-rollback.js';
import { judgeUpdateAnswer, pickPushRecord, uploadNeverArrived } from '../../../controller/rollout/push-outcome.js';
import { pushRelease, type PushDeps } from '../../../controller/rollout/push.js';
import { systemClock } from '../../../shared/clock.js';
import { Slots } from '../../../shared/limit-concurrency.js';
import { silentLogger } from '../../../shared/logger.js';
import type { OperationRecord } from '../../../shared/wire.js';
import { DirectoryReleaseSource, startFakeUpdater, type FakeUpdater } from '../../helpers/fake-updater.js';
import { mintIdentity, tempDir } from '../../helpers/pki.js';

const REL = 'c'.repeat(64);
const rec = (over: Partial<OperationRecord>): OperationRecord => ({
  id: 'update-1', kind: 'update', state: 'committed', release: { id: REL, version: '2.0.0' }, from: null, to: null,
  startedAt: '2026-01-01T00:00:10.000Z', endedAt: null, error: null, steps: [], ...over,
});

/** A TCP relay to `target` (HOST:PORT) that resets the first connection before TLS completes and forwards the rest. */
async function resetFirstRelay(target: string): Promise<{ address: string; accepted: () => number; close: () => Promise<void> }> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const [host, port] = target.split(':');
  const relay = createServer((client) => {
    sockets.add(client);
    if (++accepted === 1) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(Number(port), host!);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  return {
    address: `127.0.0.1:${(relay.address() as { port: number }).port}`,
    accepted: () => accepted,
    close: async () => {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((r) => relay.close(() => r()));
    },
  };
}

describe('push outcome (pure)', () => {
  it('maps answers to host states', () => {
    assert.equal((judgeUpdateAnswer(200, rec({})) as { state: string }).state, 'succeeded');
    const rolled = judgeUpdateAnswer(409, { ...rec({ state: 'rolled-back', error: { code: 'SWARM_ERR_UPDATER_AGENT_UNHEALTHY', message: 'probe failed' }, steps: [{ at: 'x', step: 'probe', detail: 'status failing' }, { at: 'y', step: 'done' }] }), code: 'SWARM_ERR_UPDATER_AGENT_UNHEALTHY', message: 'probe failed' });
    assert.deepEqual(rolled, { state: 'rolled-back', error: { code: 'SWARM_ERR_UPDATER_AGENT_UNHEALTHY', message: 'probe failed', detail: 'status failing' }, record: (rolled as { record: OperationRecord }).record });
    assert.deepEqual(judgeUpdateAnswer(409, { code: 'SWARM_ERR_UPDATER_BUSY', message: 'm', details: { running: 'rollback-1' } }), { settle: 'busy', running: 'rollback-1' });
    assert.deepEqual(judgeUpdateAnswer(400, { code: 'SWARM_ERR_TAR_UNSAFE_PATH', message: 'bad path' }), { state: 'failed', error: { code: 'SWARM_ERR_TAR_UNSAFE_PATH', message: 'bad path' } });
    assert.deepEqual(judgeUpdateAnswer(202, rec({ kind: 'self-update', state: 'running' })), { settle: 'running', id: 'update-1' });
    // A sender-gone refusal answered on a live connection is an earlier, cut upload this push was joined to.
    assert.deepEqual(judgeUpdateAnswer(400, { code: 'SWARM_ERR_UPDATER_UPLOAD_ABORTED', message: 'gone' }), { settle: 'resend', code: 'SWARM_ERR_UPDATER_UPLOAD_ABORTED' });
    assert.deepEqual(judgeUpdateAnswer(400, { code: 'SWARM_ERR_INSTALL_ABORTED', message: 'gone' }), { settle: 'resend', code: 'SWARM_ERR_INSTALL_ABORTED' });
    assert.equal((judgeUpdateAnswer(502, 'nonsense') as { error: { code: string } }).error.code, 'SWARM_ERR_ROLLOUT_PUSH_FAILED');
    assert.equal((judgeUpdateAnswer(409, rec({})) as { error: { code: string } }).error.code, 'SWARM_ERR_ROLLOUT_PUSH_FAILED', 'committed but not 200: not understood');
  });
  it('picks the newest record of the release and kind that started after the push (minus skew)', () => {
    const since = Date.parse('2026-01-01T00:00:05.000Z');
    const older = rec({ id: 'update-0', startedAt: '2026-01-01T00:00:01.000Z' });
    const other = rec({ id: 'update-2', release: { id: 'd'.repeat(64), version: null }, startedAt: '2026-01-01T00:00:20.000Z' });
    const mine = rec({ id: 'update-3', startedAt: '2026-01-01T00:00:09.000Z' });
    assert.equal(pickPushRecord([other, mine, older], REL, 'update', since)?.id, 'update-3');
    assert.equal(pickPushRecord([older], REL, 'update', since), undefined);
    assert.equal(pickPushRecord([mine], REL, 'self-update', since), undefined);
  });
  it('an upload the updater recorded as cut mid-body never arrived; every other ended record is an outcome', () => {
    const aborted = { code: 'SWARM_ERR_UPDATER_UPLOAD_ABORTED', message: 'the client closed the connection before the whole release arrived' };
    assert.equal(uploadNeverArrived(rec({ state: 'refused', error: aborted })), true);
    // The same cut, when the installer's read of the body failed before the updater saw the connection close.
    assert.equal(uploadNeverArrived(rec({ state: 'refused', error: { code: 'SWARM_ERR_INSTALL_ABORTED', message: 'the release upload failed before its end: aborted' } })), true);
    assert.equal(uploadNeverArrived(rec({ state: 'refused', error: { code: 'SWARM_ERR_UPDATER_SIGNATURE_INVALID', message: 'bad signature' } })), false);
    assert.equal(uploadNeverArrived(rec({ state: 'failed', error: aborted })), false);
    assert.equal(uploadNeverArrived(rec({})), false);
  });
});

describe('push to an updater (real mTLS, fake updater)', function () {
  this.timeout(20_000);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let releases: DirectoryReleaseSource;
  let deps: PushDeps;
  let release: string;
  const fakes: FakeUpdater[] = [];
  const fake = async (name: string, certName?: string): Promise<FakeUpdater> => {
    const f = await startFakeUpdater(name, certName ? { certName } : {});
    fakes.push(f);
    return f;
  };
  const push = (f: { name: string; address: string | null }, over: { resume?: boolean; deadlineMs?: number; startedAt?: number } = {}) =>
    pushRelease(deps, { host: f.name, address: f.address, releaseId: release, kind: 'agent', startedAt: over.startedAt ?? Date.now(), deadlineMs: over.deadlineMs ?? 10_000, signal: new AbortController().signal, ...(over.resume ? { resume: true } : {}) });

  before(async () => {
    dir = await tempDir('swarm-push-');
    releases = new DirectoryReleaseSource(dir.path);
    release = (await releases.add('2.0.0', Buffer.alloc(256 * 1024, 7))).id;
    const controller = await mintIdentity('controller', 'controller');
    deps = { material: () => controller.material, releases, clock: systemClock, logger: silentLogger(), timing: { settleGraceMs: 600, pollIntervalMs: 25 } };
  });
  after(async () => {
    await Promise.all(fakes.map((f) => f.close()));
    await dir.cleanup();
  });

  it('200: succeeded with the committed record', async () => {
    const f = await fake('h1');
    const out = await push(f);
    assert.equal(out.state, 'succeeded');
    assert.deepEqual(f.updates, [release]);
  });

  it('409 rolled back: rolled-back with the updater\'s code, message and probe detail', async () => {
    const f = await fake('h2');
    f.behave = () => ({ rollBack: { code: 'SWARM_ERR_UPDATER_AGENT_UNHEALTHY', message: 'the agent did not become healthy', detail: 'status failing: sensor crashed' } });
    assert.deepEqual((await push(f) as { error: unknown }).error, { code: 'SWARM_ERR_UPDATER_AGENT_UNHEALTHY', message: 'the agent did not become healthy', detail: 'status failing: sensor crashed' });
  });

  it('409 busy: waits for the running operation, finds no record of its own, pushes again', async () => {
    const f = await fake('h3');
    f.behave = (_r, n) => (n === 1 ? { busy: { running: 'rollback-9', endsAfterReads: 2 } } : 'commit');
    const out = await push(f);
    assert.equal(out.state, 'succeeded');
    assert.equal(f.pushes.length, 2);
    assert.deepEqual(f.updates, [release], 'installed once');
  });

  it('4xx refusal: failed with the updater\'s code and message', async () => {
    const f = await fake('h4');
    f.behave = () => ({ refuse: { status: 400, code: 'SWARM_ERR_TAR_UNSAFE_PATH', message: 'entry ../x leaves the release' } });
    const out = await push(f);
    assert.deepEqual([out.state, (out as { error: unknown }).error], ['failed', { code: 'SWARM_ERR_TAR_UNSAFE_PATH', message: 'entry ../x leaves the release' }]);
  });

  it('a connection cut after the updater committed: settled from its records, not pushed again', async () => {
    const f = await fake('h5');
    f.behave = () => 'cut-after-commit';
    const out = await push(f);
    assert.equal(out.state, 'succeeded');
    assert.equal(f.pushes.length, 1, 'pushed once');
  });

  it('a connection cut mid-body with no record: the push never arrived, so it is sent again', async () => {
    const f = await fake('h6');
    f.behave = (_r, n) => (n === 1 ? 'cut-mid-body' : 'commit');
    const out = await push(f);
    assert.equal(out.state, 'succeeded');
    assert.deepEqual([f.pushes.length, f.updates.length], [2, 1]);
  });

  it('a push joined to an earlier upload whose cut the updater had not seen yet: refused as sender-gone, so it is sent again', async () => {
    const f = await fake('h6b');
    // The real updater answers a second upload of the same release with the running one's outcome (updater/engine.ts
    // update()): when that one was the cut upload, the answer is its SWARM_ERR_UPDATER_UPLOAD_ABORTED.
    f.behave = (_r, n) => (n === 1 ? { refuse: { status: 400, code: 'SWARM_ERR_UPDATER_UPLOAD_ABORTED', message: 'the client closed the connection before the whole release arrived' } } : 'commit');
    const out = await push(f);
    assert.equal(out.state, 'succeeded');
    assert.deepEqual([f.pushes.length, f.updates.length], [2, 1]);
  });

  it('an updater that never answers: at the deadline the records say running, so the host is failed as unsettled', async () => {
    const f = await fake('h7');
    f.behave = () => 'hang';
    const out = await push(f, { deadlineMs: 1000 });
    assert.deepEqual([out.state, (out as { error: { code: string } }).error.code], ['failed', 'SWARM_ERR_ROLLOUT_PUSH_UNSETTLED']);
    assert.equal(f.pushes.length, 1, 'never pushed blind again');
  });

  it('connection refused, no address, or a server that is not this host\'s updater: unreachable, nothing sent', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const refused = await push({ name: 'h8', address: `127.0.0.1:${port}` });
    assert.deepEqual([refused.state, (refused as { error: { code: string } }).error.code], ['unreachable', 'SWARM_ERR_ROLLOUT_HOST_UNREACHABLE']);
    assert.equal((await push({ name: 'h8', address: null })).state, 'unreachable');
    const impostor = await fake('h9', 'someone-else');
    const out = await push(impostor);
    assert.equal(out.state, 'unreachable');
    assert.match((out as { error: { message: string } }).error.message, /someone-else/);
    assert.deepEqual(impostor.pushes, []);
  });

  it('a connection reset during the handshake sent nothing: tried again within the attempts, then succeeded', async () => {
    const f = await fake('h15');
    const relay = await resetFirstRelay(f.address);
    try {
      const out = await push({ name: f.name, address: relay.address });
      assert.equal(out.state, 'succeeded', JSON.stringify(out));
      assert.equal(relay.accepted(), 2);
      assert.deepEqual(f.updates, [release]);
    } finally {
      await relay.close();
    }
  });

  it('fleet rollback: a connection reset before the request left is tried again, not reported unreachable', async () => {
    const f = await fake('h16');
    f.prev = { id: 'a'.repeat(64), version: '0.9.0' };
    const relay = await resetFirstRelay(f.address);
    try {
      const [result] = await rollbackHosts({ material: deps.material, logger: silentLogger(), connectTimeoutMs: 5_000, hostDeadlineMs: 10_000 },
        [{ name: f.name, address: relay.address, updaterOnline: true }], 4, new AbortController().signal);
      assert.equal(result!.state, 'rolled-back', JSON.stringify(result));
      assert.deepEqual([relay.accepted(), f.rollbacks], [2, 1]);
    } finally {
      await relay.close();
    }
  });

  it('body slots: a push frees its slot when its body has left, not when the updater answers', async () => {
    const slots = new Slots(1);
    const withSlots: PushDeps = { ...deps, bodySlots: slots };
    const slow = await fake('h12');
    const quick = await fake('h13');
    let commit!: () => void;
    slow.behave = () => ({ commitAfter: new Promise<void>((r) => { commit = r; }) });
    const at = { releaseId: release, kind: 'agent' as const, startedAt: Date.now(), deadlineMs: 10_000, signal: new AbortController().signal };
    const first = pushRelease(withSlots, { ...at, host: slow.name, address: slow.address });
    await slow.pushed(1);
    // The slow host holds its answer (installing); the one slot is free again, so the next host is not held behind it.
    const second = await pushRelease(withSlots, { ...at, host: quick.name, address: quick.address });
    assert.equal(second.state, 'succeeded');
    assert.equal(slots.inUse, 0);
    commit();
    assert.equal((await first).state, 'succeeded');
  });

  it('body slots: a push that waits for a slot past its deadline sends nothing and fails', async () => {
    const slots = new Slots(1);
    const held = await slots.acquire();
    const f = await fake('h14');
    const out = await pushRelease({ ...deps, bodySlots: slots }, { host: f.name, address: f.address, releaseId: release, kind: 'agent', startedAt: Date.now(), deadlineMs: 300, signal: new AbortController().signal });
    assert.deepEqual([out.state, (out as { error: { code: string } }).error.code], ['failed', 'SWARM_ERR_ROLLOUT_PUSH_UNSETTLED']);
    assert.deepEqual(f.pushes, [], 'nothing was sent');
    assert.equal(slots.waiting, 0, 'the expired waiter left the queue');
    held();
    assert.equal(slots.inUse, 0);
  });

  it('resume: a committed record settles the host without a push; no record sends it', async () => {
    const f = await fake('h10');
    const startedAt = Date.now();
    f.behave = () => 'cut-after-commit';
    await push(f, { startedAt });
    f.behave = () => 'commit';
    assert.equal((await push(f, { resume: true, startedAt })).state, 'succeeded');
    assert.equal(f.pushes.length, 1, 'settled from the record');
    const g = await fake('h11');
    assert.equal((await push(g, { resume: true })).state, 'succeeded');
    assert.equal(g.pushes.length, 1);
  });
});
