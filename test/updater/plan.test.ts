// The planner: rollback candidates and prev afterwards, and every transition of update, rollback and recovery as a
// table of journal x observation -> step (the kill -9 matrix in crash.test.ts is the end-to-end net over these).
import assert from 'node:assert/strict';
import type { RollingBackJournal, SwitchingJournal } from '../../updater/journal.js';
import {
  beginRollback, beginUpdate, choosePrevAfter, nextStep, nextSupervisorStep, planRollback, UNKNOWN_ROLLBACK_REASON, type Observation, type Step,
} from '../../updater/plan.js';
import type { SelfUpdateJournal } from '../../updater/self-update-journal.js';

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

  it('an asked-for rollback goes back only: releases committed after the one it leaves are not candidates', () => {
    const p = planRollback({ failed: 'v2', preferred: [null], history: ['v3', 'v2', 'v1'], usable, returnTo: 'v2' });
    assert.deepEqual(p.candidates, ['v1', 'v2']);
  });

  it('has nothing to offer on a first install', () => {
    assert.deepEqual(planRollback({ failed: 'v1', preferred: [null, null], history: [], usable }).candidates, []);
  });
});

const AT = '2024-01-01T00:00:00.000Z';
const SW: SwitchingJournal = { op: 'op-1', phase: 'switching', previous: 'v2', next: 'v3', prevBefore: 'v1', at: AT };
const FIRST: SwitchingJournal = { ...SW, previous: null, prevBefore: null };
const RB: RollingBackJournal = {
  op: 'op-1', phase: 'rolling-back', cause: 'failed', leaving: 'v3', target: 'v2', fallbacks: ['v1'], prevAfter: 'v1', prevBefore: 'v1', reason: 'agent exited', at: AT,
};
const ASKED: RollingBackJournal = { ...RB, cause: 'requested', reason: 'rolled back on request from v3' };
const { at: _s, ...swEntry } = SW;
const { at: _r, ...rbEntry } = RB;
const seen = { history: ['v3', 'v2', 'v1'], usable: new Set(['v1', 'v2', 'v3']) };
const unhealthy = (reason: string, cut = false, s = seen): Observation => ({ type: 'unhealthy', reason, cut, ...s });

const TABLE: Array<[string, SwitchingJournal | RollingBackJournal, Observation, Step]> = [
  // switching
  ['an update starts by journaling and flipping prev, then active', SW, { type: 'begin' }, { do: 'switch', journal: swEntry }],
  ['switched: restart the new release, probe and watch it', SW, { type: 'switched' }, { do: 'bring-up', release: 'v3', watch: true }],
  ['healthy through the window: commit', SW, { type: 'healthy' }, { do: 'finish', state: 'committed', to: 'v3', markBad: null, commit: true, note: null, error: null }],
  ['unhealthy: note why, journal the rollback to where it came from, prev then the history after', SW, unhealthy('agent exited'), {
    do: 'roll-back', note: { step: 'unhealthy', detail: 'agent exited', error: { code: 'SWARM_ERR_UPDATER_AGENT_UNHEALTHY', message: 'agent exited' } },
    journal: { ...rbEntry, fallbacks: ['v1'], prevAfter: 'v1', reason: 'agent exited' },
  }],
  ['cut by a rollback request: noted as pre-empted, rolled back the same way (the release is still marked bad)', SW, unhealthy('a rollback was requested', true), {
    do: 'roll-back',
    note: { step: 'preempted', detail: 'a rollback request ended the new release\'s probe/watch; rolling back to v2', error: { code: 'SWARM_ERR_UPDATER_PREEMPTED', message: 'a rollback request ended the new release\'s probe/watch; rolling back to v2' } },
    journal: { ...rbEntry, reason: 'a rollback request ended the new release\'s probe/watch; rolling back to v2' },
  }],
  ['unhealthy, previous marked bad: straight to the older release', SW, unhealthy('failing', false, { history: ['v2', 'v1'], usable: new Set(['v1', 'v3']) }), {
    do: 'roll-back', note: { step: 'unhealthy', detail: 'failing', error: { code: 'SWARM_ERR_UPDATER_AGENT_UNHEALTHY', message: 'failing' } },
    journal: { ...rbEntry, target: 'v1', fallbacks: [], prevAfter: null, reason: 'failing' },
  }],
  ['a bad first install: nothing to go back to; marked bad, failed', FIRST, unhealthy('no-listen', false, { history: [], usable: new Set(['v3']) }), {
    do: 'finish', state: 'failed', to: null, markBad: { release: 'v3', reason: 'no-listen' }, commit: false,
    note: { step: 'unhealthy', detail: 'no-listen', error: { code: 'SWARM_ERR_UPDATER_AGENT_UNHEALTHY', message: 'no-listen' } },
    error: { code: 'SWARM_ERR_UPDATER_AGENT_UNHEALTHY', message: 'no-listen; no previous release to return to' },
  }],
  // recovery of a switch: the three ways
  ['restart found active on the new release: bring it up again (probe, watch)', SW, { type: 'resumed', active: 'v3' }, { do: 'bring-up', release: 'v3', watch: true }],
  ['restart found active still on the old release: put prev back, restart the old agent', SW, { type: 'resumed', active: 'v2' }, { do: 'return', active: 'v2', prev: 'v1' }],
  ['... with prev equal to the old release: prev is left unset', { ...SW, prevBefore: 'v2' }, { type: 'resumed', active: 'v2' }, { do: 'return', active: 'v2', prev: null }],
  ['... on a first install nothing was there to return to', FIRST, { type: 'resumed', active: null }, { do: 'return', active: null, prev: null }],
  ['returned: the record says the switch never happened', SW, { type: 'returned' }, {
    do: 'finish', state: 'failed', to: null, markBad: null, commit: false, note: null,
    error: { code: 'SWARM_ERR_UPDATER_INTERRUPTED', message: 'the updater stopped before switching releases; nothing changed, send the update again' },
  }],
  ['(rollback happened: rolling-back journal) restart found it: point at the target again', RB, { type: 'resumed', active: 'v3' }, { do: 'point', active: 'v2', prev: 'v1' }],
  // rolling back
  ['a rollback starts by pointing active at the target, prev at the one after', RB, { type: 'begin' }, { do: 'point', active: 'v2', prev: 'v1' }],
  ['a prevAfter equal to the target is left unset', { ...RB, prevAfter: 'v2' }, { type: 'begin' }, { do: 'point', active: 'v2', prev: null }],
  ['pointed: restart and probe, no watch window', RB, { type: 'pointed' }, { do: 'bring-up', release: 'v2', watch: false }],
  ['target healthy: rolled back, the failed release marked bad, the record keeps (or gets) why', RB, { type: 'healthy' }, {
    do: 'finish', state: 'rolled-back', to: 'v2', markBad: { release: 'v3', reason: 'agent exited' }, commit: false, note: null,
    errorIfNone: { code: 'SWARM_ERR_UPDATER_AGENT_UNHEALTHY', message: 'agent exited' },
  }],
  ['target unhealthy: note it, journal the next candidate', RB, unhealthy('failing'), {
    do: 'fall-back', note: { step: 'rollback-target-unhealthy', detail: 'v2: failing' }, journal: { ...rbEntry, target: 'v1', fallbacks: [], prevAfter: null },
  }],
  ['target gone (removed by hand): the next candidate, nothing to note', RB, { type: 'missing' }, {
    do: 'fall-back', note: null, journal: { ...rbEntry, target: 'v1', fallbacks: [], prevAfter: null },
  }],
  // When no release at all comes up (the agent cannot load its own identity, say), the host is at fault, not the new
  // release: it is not marked bad (on the first main it was, and stayed refused after the host was fixed).
  ['last candidate unhealthy: failed, and the failed release is NOT marked bad (the host is at fault)', { ...RB, target: 'v1', fallbacks: [] }, unhealthy('failing'), {
    do: 'finish', state: 'failed', to: null, markBad: null, commit: false, note: { step: 'rollback-target-unhealthy', detail: 'v1: failing' },
    error: { code: 'SWARM_ERR_UPDATER_ROLLBACK_FAILED', message: 'no installed release became healthy (agent exited); the host itself is at fault, so v3 is not marked bad' },
  }],
  ['a legacy journal without a reason, nothing healthy: failed, nothing marked', { ...RB, reason: null, fallbacks: [] }, { type: 'missing' }, {
    do: 'finish', state: 'failed', to: null, markBad: null, commit: false, note: null,
    error: { code: 'SWARM_ERR_UPDATER_ROLLBACK_FAILED', message: `no installed release became healthy (${UNKNOWN_ROLLBACK_REASON}); the host itself is at fault, so v3 is not marked bad` },
  }],
  ['asked for, target healthy: rolled back, the release it left is NOT marked bad (a drill must not burn it), no error', ASKED, { type: 'healthy' }, {
    do: 'finish', state: 'rolled-back', to: 'v2', markBad: null, commit: false, note: null,
  }],
  ['asked for, nothing older healthy: back on the release it left, which is not marked bad', { ...ASKED, target: 'v3', fallbacks: [] }, { type: 'healthy' }, {
    do: 'finish', state: 'failed', to: 'v3', markBad: null, commit: false, note: null,
    error: { code: 'SWARM_ERR_UPDATER_NO_ROLLBACK_TARGET', message: 'no older release became healthy; returned to v3' },
  }],
  ['asked for, no candidate healthy at all: failed, nothing marked', { ...ASKED, target: 'v1', fallbacks: [] }, unhealthy('failing'), {
    do: 'finish', state: 'failed', to: null, markBad: null, commit: false, note: { step: 'rollback-target-unhealthy', detail: 'v1: failing' },
    error: { code: 'SWARM_ERR_UPDATER_ROLLBACK_FAILED', message: 'no installed release became healthy (rolled back on request from v3); the host itself is at fault, so v3 is not marked bad' },
  }],
];

describe('planner: journal x observation -> step', () => {
  for (const [what, j, o, step] of TABLE) {
    it(`${j.phase} + ${o.type}: ${what}`, () => assert.deepEqual(nextStep(j, o), step));
  }

  it('refuses observations that cannot follow the journal (a bug, not a state)', () => {
    assert.throws(() => nextStep(SW, { type: 'pointed' }), /cannot follow a switching journal/);
    assert.throws(() => nextStep(RB, { type: 'switched' }), /cannot follow a rolling-back journal/);
  });

  it('ends every rollback: each step is finish or shrinks the candidates', () => {
    let j: RollingBackJournal = { ...RB, fallbacks: ['v1', 'v0', 'v-1'] };
    for (let n = 0; n < 10; n++) {
      const s = nextStep(j, unhealthy('failing'));
      if (s.do === 'finish') return;
      assert.equal(s.do, 'fall-back');
      if (s.do !== 'fall-back') return;
      assert.ok(s.journal.fallbacks.length < j.fallbacks.length);
      j = { ...s.journal, at: AT };
    }
    assert.fail('the rollback did not end');
  });
});

describe('planner: how operations begin', () => {
  it('an update journals the switch from what is active to the new release', () => {
    assert.deepEqual(beginUpdate({ op: 'op-1', active: 'v2', prev: 'v1', next: 'v3' }), swEntry);
  });

  it('an asked-for rollback goes to prev, then older releases, and lists the release it leaves last', () => {
    assert.deepEqual(beginRollback({ op: 'op-1', active: 'v3', prev: 'v2', ...seen }), {
      op: 'op-1', phase: 'rolling-back', cause: 'requested', leaving: 'v3', target: 'v2', fallbacks: ['v1', 'v3'], prevAfter: 'v1', prevBefore: 'v2',
      reason: 'rolled back on request from v3',
    });
  });

  it('an asked-for rollback with nowhere to go is refused before anything is written', () => {
    assert.equal(beginRollback({ op: 'op-1', active: 'v3', prev: null, history: ['v3'], usable: new Set(['v3']) }), null);
    assert.equal(beginRollback({ op: 'op-1', active: 'v3', prev: 'v2', history: ['v3', 'v2'], usable: new Set(['v3']) }), null, 'prev marked bad');
  });
});

describe('planner: the supervisor and a self-update journal', () => {
  const pending: SelfUpdateJournal = { op: 'op-1', phase: 'pending', previous: 'u1', next: 'u2', prevBefore: null, attempts: 0, at: AT };
  const ROWS: Array<[string, SelfUpdateJournal | null, string | null, ReturnType<typeof nextSupervisorStep>]> = [
    ['no journal: run the active updater', null, 'u1', { do: 'run' }],
    ['confirmed: run it (the worker finishes the record)', { ...pending, phase: 'confirmed' }, 'u2', { do: 'run' }],
    ['pending, links flipped, first start: a trial, counted', pending, 'u2', { do: 'trial', journal: { ...pending, attempts: 1 } }],
    ['pending after its one trial: the old updater comes back', { ...pending, attempts: 1 }, 'u2', { do: 'restore', reason: 'the new updater did not confirm before it stopped' }],
    ['pending, links never flipped: the switch never happened', pending, 'u1', { do: 'restore', reason: 'the switch to the new updater never happened' }],
  ];
  for (const [what, j, active, step] of ROWS) it(what, () => assert.deepEqual(nextSupervisorStep(j, active), step));
});
