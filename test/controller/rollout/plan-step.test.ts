// The rollout planner and step function, pure: waves from a strategy, every decision from state and clock, and a
// property test that simulates random latencies and failures on a fake clock.
import assert from 'node:assert/strict';
import { parseAmount, type RolloutHostState, type Strategy } from '../../../controller/rollout/model.js';
import { planRollout } from '../../../controller/rollout/plan.js';
import { seededRandom } from '../../helpers/rng.js';
import { countFailures, decideRollout, type HostView, type RolloutAction, type RolloutView } from '../../../controller/rollout/step.js';

const strategy = (s: Partial<Strategy> = {}): Strategy => ({
  canary: 1, batch: { count: 2 }, maxParallel: 2, maxFailures: { count: 1 }, pauseBetweenMs: 0, hostDeadlineMs: 60_000, ...s,
});
const REL = 'a'.repeat(64);
const targets = (n: number, onRelease: number[] = []): Array<{ name: string; release: string | null }> =>
  Array.from({ length: n }, (_, i) => ({ name: `h${i + 1}`, release: onRelease.includes(i + 1) ? REL : 'b'.repeat(64) }));

describe('rollout plan', () => {
  it('puts the canary first, then waves of the batch size, and skips hosts already on the release', () => {
    const p = planRollout(targets(6, [2]), REL, strategy({ canary: 1, batch: { count: 2 } }));
    assert.deepEqual(p.waves, [['h1'], ['h3', 'h4'], ['h5', 'h6']]);
    assert.deepEqual(p.hosts.find((h) => h.name === 'h2'), { name: 'h2', wave: 0, skipped: true });
    assert.equal(p.budget, 1);
  });
  it('reads percentages of all targets for batch and budget, rounding down, and one wave for batch 0', () => {
    const p = planRollout(targets(10), REL, strategy({ canary: 0, batch: { percent: 30 }, maxFailures: { percent: 25 } }));
    assert.deepEqual(p.waves.map((w) => w.length), [3, 3, 3, 1]);
    assert.equal(p.budget, 2);
    assert.deepEqual(planRollout(targets(4), REL, strategy({ canary: 0, batch: { count: 0 } })).waves.map((w) => w.length), [4]);
    assert.deepEqual(planRollout(targets(2, [1, 2]), REL, strategy()).waves, []);
  });
  it('parses amounts as operators type them', () => {
    assert.deepEqual(parseAmount('3'), { count: 3 });
    assert.deepEqual(parseAmount('25%'), { percent: 25 });
    assert.equal(parseAmount('101%'), undefined);
    assert.equal(parseAmount('-1'), undefined);
    assert.equal(parseAmount('x'), undefined);
  });
});

const view = (v: Partial<RolloutView> = {}): RolloutView => ({
  state: 'canary', strategy: strategy(), budget: 1, currentWave: 0, waveCount: 3, waveEndedAt: null, canaryAccepted: false, ...v,
});
const hosts = (spec: Array<[string, number, RolloutHostState]>): HostView[] => spec.map(([name, wave, state]) => ({ name, wave, state }));
const obs = (now = 1000, offline: string[] = [], reconnecting: Array<[string, number]> = []) => ({ now, offline: new Set(offline), reconnecting: new Map(reconnecting) });

describe('rollout step (table)', () => {
  const cases: Array<[string, RolloutView, HostView[], ReturnType<typeof obs>, RolloutAction[]]> = [
    ['starts the canary wave', view({ state: 'pending', currentWave: -1 }), hosts([['h1', 0, 'pending']]), obs(), [{ type: 'start-wave', wave: 0, state: 'canary' }]],
    ['starts rolling without a canary', view({ state: 'pending', currentWave: -1, strategy: strategy({ canary: 0 }) }), hosts([['h1', 0, 'pending']]), obs(), [{ type: 'start-wave', wave: 0, state: 'rolling' }]],
    ['finishes a rollout with nothing to do', view({ state: 'pending', currentWave: -1, waveCount: 0 }), hosts([['h1', 0, 'skipped']]), obs(), [{ type: 'finish', failures: 0 }]],
    ['pushes the canary', view(), hosts([['h1', 0, 'pending'], ['h2', 1, 'pending']]), obs(), [{ type: 'push', host: 'h1' }]],
    ['pauses on a failed canary, whatever the budget', view({ budget: 5 }), hosts([['h1', 0, 'rolled-back'], ['h2', 1, 'pending']]), obs(), [{ type: 'pause', reason: 'canary-failed', failures: 1 }]],
    ['goes on after an accepted canary failure within budget', view({ budget: 5, canaryAccepted: true, waveEndedAt: 5 }), hosts([['h1', 0, 'rolled-back'], ['h2', 1, 'pending']]), obs(), [{ type: 'start-wave', wave: 1, state: 'rolling' }]],
    ['marks an offline host unreachable instead of pushing it', view({ state: 'rolling', currentWave: 1 }), hosts([['h1', 0, 'succeeded'], ['h2', 1, 'pending'], ['h3', 1, 'pending']]), obs(1000, ['h2']), [{ type: 'mark-unreachable', host: 'h2' }, { type: 'push', host: 'h3' }]],
    ['passes over a host whose channel is still reconnecting, and waits for it', view({ state: 'rolling', currentWave: 1 }), hosts([['h1', 0, 'succeeded'], ['h2', 1, 'pending'], ['h3', 1, 'pending']]), obs(1000, [], [['h2', 4000]]), [{ type: 'push', host: 'h3' }, { type: 'wait', until: 4000 }]],
    ['a reconnecting host takes no slot and is not a failure', view({ state: 'rolling', currentWave: 1, budget: 0, strategy: strategy({ maxParallel: 1 }) }), hosts([['h2', 1, 'pending'], ['h3', 1, 'pending'], ['h4', 1, 'pending']]), obs(1000, [], [['h2', 5000], ['h3', 3000]]), [{ type: 'push', host: 'h4' }, { type: 'wait', until: 3000 }]],
    ['a wave of reconnecting hosts does not end: it waits', view({ state: 'rolling', currentWave: 1 }), hosts([['h2', 1, 'pending'], ['h3', 2, 'pending']]), obs(1000, [], [['h2', 2000]]), [{ type: 'wait', until: 2000 }]],
    ['never exceeds max-parallel', view({ state: 'rolling', currentWave: 1 }), hosts([['h1', 0, 'succeeded'], ['h2', 1, 'pushing'], ['h3', 1, 'pending'], ['h4', 1, 'pending']]), obs(), [{ type: 'push', host: 'h3' }]],
    ['waits while every slot is taken', view({ state: 'rolling', currentWave: 1, strategy: strategy({ maxParallel: 1 }) }), hosts([['h2', 1, 'pushing'], ['h3', 1, 'pending']]), obs(), [{ type: 'wait', until: null }]],
    ['pauses past the budget; in-flight pushes are left to finish', view({ state: 'rolling', currentWave: 1 }), hosts([['h1', 0, 'succeeded'], ['h2', 1, 'failed'], ['h3', 1, 'unreachable'], ['h4', 1, 'pushing'], ['h5', 1, 'pending']]), obs(), [{ type: 'pause', reason: 'budget-exceeded', failures: 2 }]],
    ['waits for the wave to drain before the next one', view({ state: 'rolling', currentWave: 1 }), hosts([['h2', 1, 'pushing'], ['h3', 2, 'pending']]), obs(), [{ type: 'wait', until: null }]],
    ['records the end of a wave', view({ state: 'rolling', currentWave: 1 }), hosts([['h2', 1, 'succeeded'], ['h3', 2, 'pending']]), obs(7), [{ type: 'end-wave', wave: 1, at: 7 }]],
    ['holds the pause between waves', view({ state: 'rolling', currentWave: 1, waveEndedAt: 100, strategy: strategy({ pauseBetweenMs: 50 }) }), hosts([['h2', 1, 'succeeded'], ['h3', 2, 'pending']]), obs(120), [{ type: 'wait', until: 150 }]],
    ['starts the next wave after the pause', view({ state: 'rolling', currentWave: 1, waveEndedAt: 100, strategy: strategy({ pauseBetweenMs: 50 }) }), hosts([['h2', 1, 'succeeded'], ['h3', 2, 'pending']]), obs(150), [{ type: 'start-wave', wave: 2, state: 'rolling' }]],
    ['finishes after the last wave, counting failures', view({ state: 'rolling', currentWave: 2, budget: 3 }), hosts([['h2', 1, 'failed'], ['h3', 2, 'succeeded'], ['h9', 0, 'skipped']]), obs(), [{ type: 'finish', failures: 1 }]],
    ['does nothing while paused', view({ state: 'paused' }), hosts([['h1', 0, 'pending']]), obs(), []],
    ['does nothing once aborted', view({ state: 'aborted' }), hosts([['h1', 0, 'pending']]), obs(), []],
  ];
  for (const [name, r, h, o, expected] of cases) it(name, () => assert.deepEqual(decideRollout(r, h, o), expected));
});


describe('rollout step (property: random latencies and failures on a fake clock)', () => {
  it('never exceeds max-parallel, never pushes a host twice, honours the budget and the waves', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const rand = seededRandom(seed);
      const n = 1 + Math.floor(rand() * 30);
      const s = strategy({
        canary: Math.floor(rand() * 3), batch: rand() < 0.3 ? { percent: 10 + Math.floor(rand() * 60) } : { count: Math.floor(rand() * 6) },
        maxParallel: 1 + Math.floor(rand() * 5), maxFailures: { count: Math.floor(rand() * 4) }, pauseBetweenMs: rand() < 0.3 ? Math.floor(rand() * 500) : 0,
      });
      const plan = planRollout(targets(n, rand() < 0.2 ? [1] : []), REL, s);
      const failRate = rand() * 0.4;
      const offline = new Set(plan.hosts.filter(() => rand() < 0.05).map((h) => h.name));
      // Channels still reconnecting (a controller restart): each is back, or offline for good, at its time.
      const reconnect = new Map(plan.hosts.filter((h) => !offline.has(h.name) && rand() < 0.1).map((h) => [h.name, { until: Math.floor(rand() * 600), back: rand() < 0.5 }]));
      const observe = (at: number) => ({
        now: at,
        offline: new Set([...offline, ...[...reconnect].filter(([, c]) => c.until <= at && !c.back).map(([n]) => n)]),
        reconnecting: new Map([...reconnect].filter(([, c]) => c.until > at).map(([n, c]) => [n, c.until])),
      });
      const state = new Map<string, HostView>(plan.hosts.map((h) => [h.name, { name: h.name, wave: h.wave, state: h.skipped ? 'skipped' : 'pending' }]));
      let r: RolloutView = { state: 'pending', strategy: s, budget: plan.budget, currentWave: -1, waveCount: plan.waves.length, waveEndedAt: null, canaryAccepted: false };
      const pushes = new Map<string, number>();
      const inFlight: Array<{ host: string; at: number; outcome: RolloutHostState }> = [];
      let now = 0;
      for (let guard = 0; guard < 10_000; guard++) {
        const all = [...state.values()];
        const o = observe(now);
        const actions = decideRollout(r, all, o);
        let waitUntil: number | null | undefined;
        for (const a of actions) {
          if (a.type === 'start-wave') r = { ...r, state: a.state, currentWave: a.wave, waveEndedAt: null };
          else if (a.type === 'end-wave') r = { ...r, waveEndedAt: a.at };
          else if (a.type === 'pause') r = { ...r, state: 'paused' };
          else if (a.type === 'finish') r = { ...r, state: 'done' };
          else if (a.type === 'mark-unreachable') {
            assert.ok(!o.reconnecting.has(a.host), `seed ${seed}: ${a.host} marked unreachable while still expected back`);
            state.set(a.host, { ...state.get(a.host)!, state: 'unreachable' });
          }
          else if (a.type === 'push') {
            const h = state.get(a.host)!;
            // Waves: every host of an earlier wave has settled before a later wave's host is pushed.
            assert.ok(all.every((o) => o.wave >= h.wave || o.state !== 'pending'), `seed ${seed}: ${a.host} pushed before its wave began`);
            assert.equal(h.wave, r.currentWave, `seed ${seed}: only the current wave is pushed`);
            assert.ok(countFailures([...state.values()]) <= r.budget, `seed ${seed}: no push starts past the budget`);
            assert.ok(!o.reconnecting.has(a.host) && !o.offline.has(a.host), `seed ${seed}: ${a.host} pushed while its channel was down`);
            state.set(a.host, { ...h, state: 'pushing' });
            pushes.set(a.host, (pushes.get(a.host) ?? 0) + 1);
            const roll = rand();
            inFlight.push({ host: a.host, at: now + 1 + Math.floor(rand() * 300), outcome: roll < failRate / 2 ? 'rolled-back' : roll < failRate ? 'failed' : 'succeeded' });
          } else waitUntil = a.until;
        }
        const pushing = [...state.values()].filter((h) => h.state === 'pushing').length;
        assert.ok(pushing <= s.maxParallel, `seed ${seed}: ${pushing} in flight > max-parallel ${s.maxParallel}`);
        if (actions.length > 0 && waitUntil === undefined && r.state !== 'paused' && r.state !== 'done') continue;
        // Time passes: the next push ends (or the pause between waves does).
        inFlight.sort((x, y) => x.at - y.at);
        const next = inFlight.shift();
        if (!next && (waitUntil === undefined || waitUntil === null)) break;
        if (next && (waitUntil === undefined || waitUntil === null || next.at <= waitUntil)) {
          now = Math.max(now, next.at);
          state.set(next.host, { ...state.get(next.host)!, state: next.outcome });
        } else {
          if (next) inFlight.unshift(next);
          now = Math.max(now, waitUntil!);
        }
      }
      assert.ok([...pushes.values()].every((c) => c === 1), `seed ${seed}: a host was pushed twice`);
      assert.ok(r.state === 'done' || r.state === 'paused', `seed ${seed}: ended ${r.state}`);
      const failures = countFailures([...state.values()]);
      if (r.state === 'done') {
        assert.ok([...state.values()].every((h) => h.state !== 'pending' && h.state !== 'pushing'), `seed ${seed}: done with work left`);
        assert.ok(failures <= r.budget, `seed ${seed}: done although ${failures} failures exceed the budget ${r.budget}`);
      }
      for (const h of plan.hosts.filter((p) => p.skipped)) assert.equal(pushes.get(h.name), undefined, `seed ${seed}: skipped host pushed`);
    }
  });
});
