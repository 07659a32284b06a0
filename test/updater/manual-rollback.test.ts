// An asked-for rollback (a drill, an incident) leaves the release it leaves installable: only an automatic rollback
// after a failed probe or watch marks a release bad. The record says who asked and why. In-process engine.
import assert from 'node:assert/strict';
import type { OperationRecord } from '../../shared/wire.js';
import { buildAgentRelease, type BuiltRelease } from './helpers/agent-release.js';
import { makeEngineHost, type EngineHost } from './helpers/engine-host.js';

describe('updater: an asked-for rollback', function () {
  this.timeout(20_000);
  let h: EngineHost;
  let v1: BuiltRelease;
  let v2: BuiltRelease;
  const send = (r: BuiltRelease): Promise<OperationRecord> => h.send(r);

  before(async () => {
    [v1, v2] = await Promise.all([buildAgentRelease('1.0.0'), buildAgentRelease('2.0.0')]);
  });
  beforeEach(async () => {
    h = await makeEngineHost();
    assert.equal((await send(v1)).state, 'committed');
    assert.equal((await send(v2)).state, 'committed');
  });
  afterEach(() => h.cleanup());

  it('does not mark the release it leaves bad, records who asked and why, and a later update to it is accepted', async () => {
    const rolled = await h.updater.rollback({ requestedBy: 'local', reason: 'quarterly drill' });
    assert.equal(rolled.state, 'rolled-back');
    assert.equal(rolled.error, null);
    assert.equal(rolled.requestedBy, 'local');
    assert.equal(rolled.reason, 'quarterly drill');
    assert.equal((await h.store.readLinks()).active?.id, v1.id);
    assert.equal(await h.store.isBad(v2.id), false, 'the release left is still installable');

    const again = await send(v2);
    assert.equal(again.state, 'committed', 'the release rolled back from is accepted again');
    assert.equal((await h.store.readLinks()).active?.id, v2.id);
    assert.equal(h.runner.running, v2.id);
  });

  it('without a reason records only who asked', async () => {
    const rolled = await h.updater.rollback({ requestedBy: 'spiffe://test/controller/controller' });
    assert.equal(rolled.requestedBy, 'spiffe://test/controller/controller');
    assert.equal(rolled.reason, undefined);
  });

  it('does not go forward: asked again on the oldest release, it refuses (nothing older), the newer one stays unmarked', async () => {
    await h.updater.rollback({ requestedBy: 'local' });
    await assert.rejects(h.updater.rollback({ requestedBy: 'local' }), { code: 'SWARM_ERR_UPDATER_NO_ROLLBACK_TARGET' });
    assert.equal((await h.store.readLinks()).active?.id, v1.id);
    assert.equal(await h.store.isBad(v2.id), false);
  });
});
