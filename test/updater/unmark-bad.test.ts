// Clearing a bad mark on a host: which mark a query names (pure), the mark file, and the engine: a release rolled back
// automatically is refused until an operator clears its mark, then sent again it is a new, accepted update.
import assert from 'node:assert/strict';
import type { OperationRecord } from '../../shared/wire.js';
import { BadMarks, findMark } from '../../updater/install/bad-marks.js';
import { tempDir } from '../helpers/pki.js';
import { buildAgentRelease, type BuiltRelease } from './helpers/agent-release.js';
import { makeEngineHost, type EngineHost } from './helpers/engine-host.js';

const mark = (id: string): { id: string; reason: string; at: string } => ({ id, reason: 'r', at: 't' });

describe('findMark: which bad mark an operator names', () => {
  const a = mark(`aaaaaaaa11${'0'.repeat(54)}`);
  const b = mark(`aaaaaaaa22${'0'.repeat(54)}`);
  const ROWS: Array<[string, string, ReturnType<typeof findMark>]> = [
    ['the whole id', a.id, { mark: a }],
    ['a unique prefix', 'aaaaaaaa1', { mark: a }],
    ['a prefix two marks share', 'aaaaaaaa', { ambiguous: [a.id, b.id] }],
    ['a prefix no mark has', 'bbbbbbbb', { none: true }],
  ];
  for (const [what, q, want] of ROWS) it(what, () => assert.deepEqual(findMark([a, b], q), want));
});

describe('BadMarks.unmark', () => {
  it('removes one mark durably, keeps the others, and says whether there was one', async () => {
    const t = await tempDir('swarm-unmark-');
    try {
      const marks = new BadMarks(t.path);
      await Promise.all([marks.mark('a'.repeat(64), 'x'), marks.mark('b'.repeat(64), 'y')]);
      assert.equal(await marks.unmark('a'.repeat(64)), true);
      assert.equal(await marks.unmark('a'.repeat(64)), false);
      assert.deepEqual((await new BadMarks(t.path).list()).map((m) => m.id), ['b'.repeat(64)]);
    } finally {
      await t.cleanup();
    }
  });
});

describe('updater: unmark-bad', function () {
  this.timeout(20_000);
  let h: EngineHost;
  let v1: BuiltRelease;
  let v2: BuiltRelease;
  const send = (r: BuiltRelease): Promise<OperationRecord> => h.send(r);

  before(async () => {
    [v1, v2] = await Promise.all([buildAgentRelease('1.0.0'), buildAgentRelease('2.0.0')]);
  });
  afterEach(() => h.cleanup());

  it('makes a release rolled back automatically installable again: sent again, it is a new operation', async () => {
    h = await makeEngineHost();
    assert.equal((await send(v1)).state, 'committed');
    h.behaviours.set(v2.id, 'failing');
    const failed = await send(v2);
    assert.equal(failed.state, 'rolled-back');
    assert.equal(await h.store.isBad(v2.id), true);
    assert.equal((await send(v2)).id, failed.id, 'while marked, the same outcome comes back');

    await assert.rejects(h.updater.unmarkBad('bbbbbbbb', 'local'), { code: 'SWARM_ERR_UPDATER_NOT_MARKED_BAD' });
    const cleared = await h.updater.unmarkBad(v2.id.slice(0, 8), 'local');
    assert.equal(cleared.id, v2.id);
    assert.equal(await h.store.isBad(v2.id), false);

    h.behaviours.delete(v2.id);
    const again = await send(v2);
    assert.notEqual(again.id, failed.id);
    assert.equal(again.state, 'committed');
    assert.equal((await h.store.readLinks()).active?.id, v2.id);
  });
});
