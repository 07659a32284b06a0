// Rollout strategy defaults and amount flags: what swarmctl sends when a flag is left out, and how "3" / "25%" parse.
import assert from 'node:assert/strict';
import { StrategyJsonSchema } from '../../shared/rollout-api.js';
import { formatAmount, parseAmount, ROLLOUT_DEFAULTS } from '../../shared/rollout-strategy.js';

describe('rollout strategy defaults and amounts', () => {
  it('defaults are the design\'s (canary 1, batch 25%, max-parallel 10, max-failures 0, no pause, 5m per host) and a valid strategy', () => {
    assert.deepEqual({ ...ROLLOUT_DEFAULTS }, { canary: 1, batch: { percent: 25 }, maxParallel: 10, maxFailures: { count: 0 }, pauseBetweenMs: 0, hostDeadlineMs: 300_000 });
    assert.ok(StrategyJsonSchema.safeParse(ROLLOUT_DEFAULTS).success);
  });

  it('parses counts and percentages, refuses anything else, and formats them back', () => {
    for (const text of ['0', '3', '25%', '100%']) assert.equal(formatAmount(parseAmount(text)!), text);
    assert.deepEqual(parseAmount(' 7 '), { count: 7 });
    for (const bad of ['101%', '-1', '1.5', '%', '', 'x', '12345678', '5 %']) assert.equal(parseAmount(bad), undefined, bad);
  });
});
