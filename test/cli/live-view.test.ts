// The rollout live view and swarmctl's rollout flags as pure functions: what a person reads, what a script gets.
import assert from 'node:assert/strict';
import { UsageError } from '../../shared/cli.js';
import type { RolloutJson } from '../../shared/rollout-api.js';
import { failureLines, formatDuration, formatEventLine, progressBar, renderRolloutView, rolloutExitCode, summaryLine } from '../../cli/live-view.js';
import { parseRollbackTargets, parseStrategy, parseTargets, STRATEGY_FLAG_DEFAULTS } from '../../cli/rollout-flags.js';

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/u;

function sample(overrides: Partial<RolloutJson> = {}): RolloutJson {
  return {
    id: 'r1', release: 'b2'.repeat(32), version: '2.0.0', from: 'a1'.repeat(32), kind: 'agent', state: 'rolling', reason: null,
    strategy: { canary: 1, batch: { percent: 25 }, maxParallel: 10, maxFailures: { count: 1 }, pauseBetweenMs: 0, hostDeadlineMs: 300_000 },
    budget: { allowed: 1, used: 1 }, currentWave: 1,
    waves: [{ index: 0, hosts: 1, done: 1, inFlight: 0, failed: 0, rolledBack: 0, pending: 0 }, { index: 1, hosts: 4, done: 1, inFlight: 1, failed: 0, rolledBack: 1, pending: 1 }],
    createdBy: 'spiffe://c/operator/alice', createdAt: '2024-05-01T10:00:00.000Z', updatedAt: '2024-05-01T10:01:05.000Z', endedAt: null,
    hosts: [
      { name: 'h1', wave: 0, state: 'succeeded', error: null, from: null, startedAt: null, endedAt: null },
      { name: 'h2', wave: 1, state: 'succeeded', error: null, from: null, startedAt: null, endedAt: null },
      { name: 'h3', wave: 1, state: 'rolled-back', error: { code: 'SWARM_ERR_UPDATER_PROBE_FAILED', message: 'agent \u001b[2Jnot healthy', detail: 'status failing' }, from: null, startedAt: null, endedAt: null },
      { name: 'h4', wave: 1, state: 'pushing', error: null, from: null, startedAt: null, endedAt: null },
      { name: 'h5', wave: 1, state: 'pending', error: null, from: null, startedAt: null, endedAt: null },
      { name: 'h6', wave: 0, state: 'skipped', error: null, from: null, startedAt: null, endedAt: null },
    ],
    events: [],
    ...overrides,
  };
}

describe('rollout live view', () => {
  it('shows the header (id, from -> to, strategy, state, elapsed, budget), a row per wave and each failure', () => {
    const lines = renderRolloutView(sample(), Date.parse('2024-05-01T10:01:05.000Z'));
    const text = lines.join('\n');
    assert.match(lines[0]!, /^rollout r1 {2}agent {2}a1a1a1a1a1a1 -> 2\.0\.0 \(b2b2b2b2b2b2\)$/);
    assert.match(lines[1]!, /canary 1, batch 25%, max-parallel 10, max-failures 1, pause 0s, host deadline 5m/);
    assert.match(lines[2]!, /rolling {3}elapsed 1m05s {3}failures 1 of 1 allowed/);
    assert.match(text, /^WAVE +HOSTS +DONE +IN FLIGHT +FAILED +ROLLED BACK +PENDING +PROGRESS$/m);
    assert.match(text, /^0 canary +1 +1 +0 +0 +0 +0 +\[#{20}\]$/m);
    assert.match(text, /^1 +4 +1 +1 +0 +1 +1 +\[#####x{5}>{5}\.{5}\] {2}<$/m);
    assert.match(text, /1 host\(s\) already on the release: skipped/);
    assert.match(text, /^failures:\n {2}h3 {2}rolled-back {2}wave 1 {2}agent \\x1b\[2Jnot healthy \[SWARM_ERR_UPDATER_PROBE_FAILED\] \(status failing\)$/m);
    assert.doesNotMatch(text, UNSAFE, 'host-supplied text is escaped');
  });

  it('colours state words only through the painter it is given', () => {
    const paint = (c: string, t: string): string => `<${c}>${t}</${c}>`;
    const lines = renderRolloutView(sample({ state: 'paused', reason: 'budget-exceeded', budget: { allowed: 0, used: 1 } }), Date.now(), paint);
    assert.match(lines[2]!, /<yellow>paused<\/yellow> \(budget-exceeded\)/);
    assert.match(lines[2]!, /<red>failures 1 of 0 allowed<\/red>/);
    assert.match(failureLines(sample(), paint)[0]!, /<red>rolled-back<\/red>/);
  });

  it('exits 0 only for done with every host succeeded or skipped', () => {
    const ok = sample({ state: 'done', hosts: sample().hosts.map((h) => ({ ...h, state: h.state === 'skipped' ? 'skipped' : 'succeeded' })) });
    assert.equal(rolloutExitCode(ok), 0);
    assert.equal(rolloutExitCode({ ...ok, state: 'paused' }), 1);
    assert.equal(rolloutExitCode({ ...ok, state: 'aborted' }), 1);
    assert.equal(rolloutExitCode(sample({ state: 'done' })), 1, 'done with a rolled-back host');
  });

  it('bars, durations, event lines and the summary', () => {
    assert.equal(progressBar({ index: 0, hosts: 0, done: 0, inFlight: 0, failed: 0, rolledBack: 0, pending: 0 }, 4), '[    ]');
    assert.equal(progressBar({ index: 0, hosts: 3, done: 1, inFlight: 1, failed: 1, rolledBack: 0, pending: 0 }, 6), '[##xx>>]');
    assert.deepEqual([0, 999, 45_000, 300_000, 65_000, 3_720_000].map(formatDuration), ['0s', '0s', '45s', '5m', '1m05s', '1h02m']);
    const line = formatEventLine({ seq: 3, at: '2024-05-01T10:00:07.000Z', type: 'host-failed', host: 'h\u202e2', wave: 1, actor: null, reason: null, message: 'refused: \u001b]52;c;x\u0007' });
    assert.equal(line, '10:00:07  host-failed  h\\u202e2 wave 1  refused: \\x1b]52;c;x\\x07');
    assert.equal(formatEventLine({ seq: 4, at: '2024-05-01T10:00:08.000Z', type: 'paused', host: null, wave: null, actor: 'spiffe://c/operator/bob', reason: 'operator', message: 'paused' }), '10:00:08  paused  paused  (by spiffe://c/operator/bob, reason operator)');
    assert.equal(summaryLine(sample()), 'rollout r1 rolling: 2 succeeded, 1 skipped, 0 failed, 1 rolled back, 0 unreachable, 2 not done');
  });
});

describe('swarmctl rollout flags', () => {
  it('takes exactly one target and names the flags otherwise', () => {
    assert.deepEqual(parseTargets({ all: true }), { all: true });
    assert.deepEqual(parseTargets({ hosts: 'h1, h2,h1' }), { hosts: ['h1', 'h2'] });
    assert.deepEqual(parseTargets({ selector: 'site=lab,tier!=canary' }), { selector: 'site=lab,tier!=canary' });
    assert.throws(() => parseTargets({}), (e: Error) => e instanceof UsageError && /--all, --hosts A,B or --selector K=V/.test(e.message));
    assert.throws(() => parseTargets({ all: true, hosts: 'h1' }), /only one of --all, --hosts/);
    assert.throws(() => parseTargets({ hosts: 'h1,Bad_Name' }), /--hosts: "Bad_Name" is not a host name/);
    assert.throws(() => parseTargets({ selector: 'nolabel' }), /--selector: "nolabel" is not KEY=VALUE/);
  });

  it('defaults are the design\'s, and each bad value names its flag', () => {
    assert.deepEqual(parseStrategy(STRATEGY_FLAG_DEFAULTS), { canary: 1, batch: { percent: 25 }, maxParallel: 10, maxFailures: { count: 0 }, pauseBetweenMs: 0, hostDeadlineMs: 300_000 });
    const ok = parseStrategy({ canary: '0', batch: '3', maxParallel: '50', maxFailures: '10%', pauseBetween: '10m', hostDeadline: '90s' });
    assert.deepEqual(ok, { canary: 0, batch: { count: 3 }, maxParallel: 50, maxFailures: { percent: 10 }, pauseBetweenMs: 600_000, hostDeadlineMs: 90_000 });
    const bad: Array<[Partial<typeof STRATEGY_FLAG_DEFAULTS>, RegExp]> = [
      [{ canary: '-1' }, /--canary/], [{ canary: 'x' }, /--canary/], [{ batch: '0' }, /--batch/], [{ batch: '101%' }, /--batch/],
      [{ maxParallel: '0' }, /--max-parallel/], [{ maxFailures: 'lots' }, /--max-failures/], [{ pauseBetween: '10 minutes' }, /--pause-between/],
      [{ hostDeadline: '500ms' }, /--host-deadline/], [{ hostDeadline: '2d' }, /--host-deadline/],
    ];
    for (const [flags, re] of bad) assert.throws(() => parseStrategy({ ...STRATEGY_FLAG_DEFAULTS, ...flags }), (e: Error) => e instanceof UsageError && re.test(e.message), JSON.stringify(flags));
  });

  it('rollback takes exactly one of HOST..., --all, --selector, --rollout', () => {
    assert.deepEqual(parseRollbackTargets(['h1', 'h2'], {}), { hosts: ['h1', 'h2'] });
    assert.deepEqual(parseRollbackTargets([], { all: true, parallel: '100' }), { all: true, parallel: 100 });
    assert.deepEqual(parseRollbackTargets([], { rollout: 'r-7' }), { rollout: 'r-7' });
    assert.deepEqual(parseRollbackTargets([], { selector: 'site=lab' }), { selector: 'site=lab' });
    assert.throws(() => parseRollbackTargets([], {}), /HOST\.\.\., --all, --selector K=V or --rollout ID/);
    assert.throws(() => parseRollbackTargets(['h1'], { all: true }), /only one of HOST\.\.\., --all/);
    assert.throws(() => parseRollbackTargets([], { all: true, parallel: '0' }), /--parallel/);
    assert.throws(() => parseRollbackTargets([], { rollout: 'a b' }), /--rollout/);
  });
});
