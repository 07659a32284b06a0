// The pure rollback decisions: candidate order and where prev points afterwards.
import assert from 'node:assert/strict';
import { choosePrevAfter, planRollback } from '../../updater/plan.js';

describe('rollback plan', () => {
  const usable = new Set(['v1', 'v2', 'v3', 'v4']);

  it('tries the release that was active, then prev, then the history, never the failed one or twice', () => {
    const p = planRollback({ failed: 'v4', preferred: ['v3', 'v2'], history: ['v4', 'v3', 'v2', 'v1'], usable });
    assert.deepEqual(p.candidates, ['v3', 'v2', 'v1']);
    assert.equal(choosePrevAfter('v3', p.candidates, 'v4'), 'v2', 'prev stays on the release before the good one');
  });

  it('skips releases that are bad or no longer installed', () => {
    const p = planRollback({ failed: 'v4', preferred: ['v3', 'v2'], history: ['v1'], usable: new Set(['v2', 'v4']) });
    assert.deepEqual(p.candidates, ['v2']);
    assert.equal(choosePrevAfter('v2', p.candidates, 'v4'), null);
  });

  it('puts the release an asked-for rollback leaves last, so a host can always return to it', () => {
    const p = planRollback({ failed: 'v3', preferred: ['v2'], history: ['v3', 'v2', 'v1'], usable, returnTo: 'v3' });
    assert.deepEqual(p.candidates, ['v2', 'v1', 'v3']);
    assert.equal(choosePrevAfter('v2', p.candidates, 'v3'), 'v1');
  });

  it('has nothing to offer on a first install', () => {
    assert.deepEqual(planRollback({ failed: 'v1', preferred: [null, null], history: [], usable }).candidates, []);
  });
});
