// Durations in flags: the forms operators type, and refusals for everything else.
import assert from 'node:assert/strict';
import { parseDuration } from '../../shared/duration.js';

describe('parseDuration', () => {
  it('reads seconds, minutes, hours, days, milliseconds and combinations', () => {
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('15m'), 900_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('7d'), 604_800_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration(' 2h '), 7_200_000);
  });
  it('refuses what is not a duration', () => {
    for (const bad of ['', '15', 'm', '1.5h', '-1h', '1w', '1h 30m', 'h1', '1hx', '9'.repeat(40) + 's']) assert.equal(parseDuration(bad), undefined, bad);
  });
});
