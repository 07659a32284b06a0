// A rollback request is never refused because an update is in flight: it pre-empts it (DESIGN.md §5). In-process engine.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import type { OperationRecord } from '../../shared/wire.js';
import { buildAgentRelease, type BuiltRelease } from './helpers/agent-release.js';
import { makeEngineHost, type EngineHost } from './helpers/engine-host.js';

/** The first half of the tarball, then nothing: only an abort ends it. */
function stalledBody(tarball: Buffer): AsyncIterable<Uint8Array> {
  return (async function* () {
    yield tarball.subarray(0, tarball.length >> 1);
    await new Promise(() => undefined);
  })();
}

describe('updater: a rollback pre-empts an update', function () {
  this.timeout(20_000);
  let h: EngineHost;
  let v1: BuiltRelease;
  let v2: BuiltRelease;
  let v3: BuiltRelease;
  const send = (r: BuiltRelease): Promise<OperationRecord> => h.send(r);

  before(async () => {
    [v1, v2, v3] = await Promise.all([buildAgentRelease('1.0.0'), buildAgentRelease('2.0.0'), buildAgentRelease('3.0.0')]);
  });
  afterEach(() => h.cleanup());

  /** A host on v2 (prev v1) whose update to v3 has begun reading a body that stalls halfway. */
  const stallUpdateOnV2 = async (): Promise<{ stalled: Promise<OperationRecord> }> => {
    h = await makeEngineHost();
    assert.equal((await send(v1)).state, 'committed');
    assert.equal((await send(v2)).state, 'committed');
    const stalled = h.updater.update({ body: stalledBody(v3.tarball), id: v3.id });
    stalled.catch(() => undefined);
    await h.store.bodyRead;
    return { stalled };
  };

  it('stops an update whose body is stalled, discards its staging and rolls back at once', async () => {
    const { stalled } = await stallUpdateOnV2();
    const stalledOp = h.updater.runningId;

    const rolled = await h.updater.rollback({ requestedBy: 'local' });
    assert.equal(rolled.kind, 'rollback');
    assert.equal(rolled.state, 'rolled-back');
    assert.equal((await h.store.readLinks()).active?.id, v1.id, 'active is back on prev');
    assert.equal(h.runner.running, v1.id);
    await assert.rejects(stalled, { code: 'SWARM_ERR_UPDATER_PREEMPTED' });
    const record = await h.operations.get(stalledOp!);
    assert.equal(record?.state, 'failed');
    assert.equal(record?.error?.code, 'SWARM_ERR_UPDATER_PREEMPTED');
    assert.ok(!record?.steps.some((s) => s.step === 'switched'), 'the pre-empted update never switched');
    assert.deepEqual(await readdir(h.paths.staging), [], 'staging is empty');
    assert.ok(!(await readdir(h.paths.releases)).includes(v3.dirName), 'the partial release was never installed');
  });

  it('ends the watch window of a switched update as a failure: it rolls itself back and that is the answer', async () => {
    h = await makeEngineHost();
    assert.equal((await send(v1)).state, 'committed');
    assert.equal((await send(v2)).state, 'committed');
    // A minute-long watch window: only the rollback request can end this test in time.
    await h.reopen({ watchMs: 60_000 });
    const started = new Promise<void>((resolve) => {
      h.runner.onRestart = (id) => id === v3.id && resolve();
    });
    const update = send(v3);
    await started;

    const answer = await h.updater.rollback({ requestedBy: 'local' });
    const outcome = await update;
    assert.equal(answer.id, outcome.id, 'the rollback answers with the update that rolled itself back');
    assert.equal(answer.state, 'rolled-back');
    assert.equal(answer.error?.code, 'SWARM_ERR_UPDATER_PREEMPTED');
    assert.equal((await h.store.readLinks()).active?.id, v2.id, 'active is back where the update came from');
    assert.equal(h.runner.running, v2.id);
    assert.equal((await h.store.list()).find((r) => r.id === v3.id)?.bad, true, 'the release left behind is marked bad');
  });

  it('answers a second rollback request during a pre-emption with the same outcome (not 409)', async () => {
    await stallUpdateOnV2();
    const [a, b] = await Promise.all([h.updater.rollback({ requestedBy: 'local' }), h.updater.rollback({ requestedBy: 'local' })]);
    assert.equal(a.id, b.id);
    assert.equal((await h.store.readLinks()).active?.id, v1.id, 'rolled back once, not twice');
  });
});
