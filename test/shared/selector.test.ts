// Label selectors: the forms operators type, refusals that say why, and matching.
import assert from 'node:assert/strict';
import { matchesSelector, parseSelector } from '../../shared/selector.js';

describe('label selectors', () => {
  it('parses equality and inequality terms, all of which must hold', () => {
    const terms = parseSelector('site=lab, tier!=canary');
    assert.ok(Array.isArray(terms));
    assert.deepEqual(terms, [{ key: 'site', op: '=', value: 'lab' }, { key: 'tier', op: '!=', value: 'canary' }]);
    assert.equal(matchesSelector({ site: 'lab', tier: 'edge' }, terms), true);
    assert.equal(matchesSelector({ site: 'lab', tier: 'canary' }, terms), false);
    assert.equal(matchesSelector({ site: 'lab' }, terms), true);
    assert.equal(matchesSelector({ tier: 'edge' }, terms), false);
    assert.deepEqual(parseSelector('a==b'), [{ key: 'a', op: '=', value: 'b' }]);
  });
  it('refuses what is not a selector, saying why', () => {
    assert.match(String(parseSelector('site')), /not KEY=VALUE/);
    assert.match(String(parseSelector('bad key=1')), /not a label key/);
    assert.match(String(parseSelector('k=\u001b[2J')), /not a label value/);
    assert.match(String(parseSelector('x'.repeat(2000))), /at most 1024/);
  });
});
