// The release path rule, fault by fault: the one judgement the builder and the installer share.
import assert from 'node:assert/strict';
import { checkLinkTarget, checkReleasePath, RELEASE_MAX_PATH_BYTES } from '../../../shared/release/index.js';

const fault = (v: { ok: true } | { ok: false; fault: string }): string => (v.ok ? 'ok' : v.fault);

describe('shared/release: path rule', () => {
  it('splits a name into its components, dropping empty and "." ones', () => {
    assert.deepEqual(checkReleasePath('./a//b/./c.sh'), { ok: true, parts: ['a', 'b', 'c.sh'] });
    assert.deepEqual(checkReleasePath('./'), { ok: true, parts: [] });
    assert.deepEqual(checkReleasePath('..a/a../.../é 日本'), { ok: true, parts: ['..a', 'a..', '...', 'é 日本'] });
  });

  it('refuses each unsafe name with its own fault, in a fixed order', () => {
    const cases: Array<[string, string]> = [
      ['', 'empty'],
      ['a\0b', 'nul'],
      ['a\\b', 'backslash'],
      ['a\x1bb', 'control'],
      ['line\nbreak', 'control'],
      ['del\x7f', 'control'],
      ['/etc/passwd', 'absolute'],
      ['a/../../b', 'traversal'],
      ['..', 'traversal'],
      ['/\x01', 'control'], // a control character is named before the absolute path
    ];
    for (const [name, want] of cases) assert.equal(fault(checkReleasePath(name)), want, JSON.stringify(name));
  });

  it('measures length in bytes against the limit, default the updater\'s', () => {
    assert.equal(RELEASE_MAX_PATH_BYTES, 4096);
    assert.equal(fault(checkReleasePath('a'.repeat(4096))), 'ok');
    assert.equal(fault(checkReleasePath('a'.repeat(4097))), 'too-long');
    assert.equal(fault(checkReleasePath('é'.repeat(2049))), 'too-long'); // 4,098 bytes in 2,049 characters
    assert.equal(fault(checkReleasePath('a'.repeat(17), 16)), 'too-long');
  });

  it('keeps symlink targets inside the release, with ".." only leading', () => {
    const cases: Array<[string[], string, string]> = [
      [['bin', 'link'], '../lib/x', 'ok'],
      [['bin', 'link'], 'swarm-agent', 'ok'],
      [['link'], '.', 'ok'],
      [['link'], '../x', 'above-root'],
      [['a', 'b', 'link'], '../../../x', 'above-root'],
      [['a', 'link'], 'b/../c', 'after-name'],
      [['link'], '/etc', 'absolute'],
      [['link'], '', 'empty'],
      [['link'], 'a\x01b', 'bad-char'],
      [['link'], 'a\\b', 'bad-char'],
      [['link'], 'a\0', 'bad-char'],
      [['link'], 'a/'.repeat(2049), 'too-long'],
    ];
    for (const [parts, target, want] of cases) assert.equal(fault(checkLinkTarget(parts, target)), want, `${parts.join('/')} -> ${JSON.stringify(target)}`);
  });
});
