// The pure tar-entry safety check, decision by decision, without touching a disk.
import assert from 'node:assert/strict';
import { checkTarEntry, createExtractionState, DEFAULT_INSTALL_LIMITS, recordEntry, resolveInRelease, type EntryDecision, type ExtractionState, type TarEntryHeader } from '../../../updater/install/index.js';

function feed(headers: TarEntryHeader[], limits = DEFAULT_INSTALL_LIMITS): { state: ExtractionState; last: EntryDecision } {
  const state = createExtractionState();
  let last: EntryDecision = { ok: true, action: 'skip' };
  for (const h of headers) {
    last = checkTarEntry(h, state, limits);
    if (!last.ok) return { state, last };
    if (last.action !== 'skip') recordEntry(state, last);
  }
  return { state, last };
}
const code = (d: EntryDecision): string => (d.ok ? 'ok' : d.code);
const file = (name: string, extra: Partial<TarEntryHeader> = {}): TarEntryHeader => ({ name, type: 'file', mode: 0o644, size: 1, ...extra });
const link = (name: string, linkname: string): TarEntryHeader => ({ name, type: 'symlink', mode: 0o777, linkname });

describe('updater/install: tar-entry check (pure)', () => {
  it('accepts plain files, directories and inner symlinks, normalizing names and modes', () => {
    const { last, state } = feed([{ name: './a/', type: 'directory', mode: 0o700 }, file('a//b.sh', { mode: 0o777 }), link('a/c', 'b.sh'), link('top', 'a/b.sh')]);
    assert.equal(code(last), 'ok');
    assert.deepEqual(state.entries.get('a'), { kind: 'directory', mode: 0o755 });
    assert.deepEqual(state.entries.get('a/b.sh'), { kind: 'file', mode: 0o755 });
    assert.equal(state.entries.get('a/c')?.target, 'b.sh');
    assert.equal(state.entryCount, 4);
  });

  it('creates missing parents implicitly and lets a later directory entry name them', () => {
    const state = createExtractionState();
    const d = checkTarEntry(file('x/y/z'), state, DEFAULT_INSTALL_LIMITS);
    assert.ok(d.ok && d.action === 'file');
    assert.deepEqual(d.parents, ['x', 'x/y']);
    recordEntry(state, d);
    const again = checkTarEntry({ name: 'x/y/', type: 'directory' }, state, DEFAULT_INSTALL_LIMITS);
    assert.ok(again.ok && again.action === 'directory' && again.existing === true);
  });

  it('skips the root entry ./ but refuses a non-directory at the root', () => {
    assert.deepEqual(checkTarEntry({ name: './', type: 'directory' }, createExtractionState(), DEFAULT_INSTALL_LIMITS), { ok: true, action: 'skip' });
    assert.equal(code(checkTarEntry(file('.'), createExtractionState(), DEFAULT_INSTALL_LIMITS)), 'SWARM_ERR_TAR_BAD_NAME');
  });

  const refusals: Array<[string, TarEntryHeader[], string]> = [
    ['absolute', [file('/etc/passwd')], 'SWARM_ERR_TAR_ABSOLUTE_PATH'],
    ['dot-dot', [file('a/../../b')], 'SWARM_ERR_TAR_PATH_TRAVERSAL'],
    ['bare dot-dot', [{ name: '..', type: 'directory' }], 'SWARM_ERR_TAR_PATH_TRAVERSAL'],
    ['NUL', [file('a\u0000b')], 'SWARM_ERR_TAR_BAD_NAME'],
    ['backslash', [file('a\\b')], 'SWARM_ERR_TAR_BAD_NAME'],
    ['newline', [file('a\nb')], 'SWARM_ERR_TAR_BAD_NAME'],
    ['empty', [file('')], 'SWARM_ERR_TAR_BAD_NAME'],
    ['sidecar', [file('./.swarm-release.json')], 'SWARM_ERR_TAR_RESERVED_NAME'],
    ['hard link', [{ name: 'h', type: 'link', linkname: 'a' }], 'SWARM_ERR_TAR_HARD_LINK'],
    ['char device', [{ name: 'c', type: 'character-device' }], 'SWARM_ERR_TAR_DEVICE'],
    ['block device', [{ name: 'b', type: 'block-device' }], 'SWARM_ERR_TAR_DEVICE'],
    ['fifo', [{ name: 'f', type: 'fifo' }], 'SWARM_ERR_TAR_FIFO'],
    ['unknown type', [{ name: 'u', type: null }], 'SWARM_ERR_TAR_UNSUPPORTED_TYPE'],
    ['setuid', [file('s', { mode: 0o4755 })], 'SWARM_ERR_TAR_SPECIAL_MODE'],
    ['setgid', [file('s', { mode: 0o2755 })], 'SWARM_ERR_TAR_SPECIAL_MODE'],
    ['sticky', [{ name: 't', type: 'directory', mode: 0o1777 }], 'SWARM_ERR_TAR_SPECIAL_MODE'],
    ['absolute link', [link('l', '/etc')], 'SWARM_ERR_TAR_LINK_ESCAPE'],
    ['climbing link', [link('a/l', '../../x')], 'SWARM_ERR_TAR_LINK_ESCAPE'],
    ['dot-dot after a name', [link('self', '.'), link('l', 'self/..')], 'SWARM_ERR_TAR_LINK_ESCAPE'],
    ['empty link', [link('l', '')], 'SWARM_ERR_TAR_LINK_ESCAPE'],
    ['through a symlink', [link('l', '.'), file('l/x')], 'SWARM_ERR_TAR_THROUGH_SYMLINK'],
    ['symlink over a symlink', [link('l', '.'), link('l', 'x')], 'SWARM_ERR_TAR_DUPLICATE_ENTRY'],
    ['duplicate', [file('a'), file('./a')], 'SWARM_ERR_TAR_DUPLICATE_ENTRY'],
    ['duplicate directory', [{ name: 'd/', type: 'directory' }, { name: 'd', type: 'directory' }], 'SWARM_ERR_TAR_DUPLICATE_ENTRY'],
    ['under a file', [file('a'), file('a/b')], 'SWARM_ERR_TAR_PATH_CONFLICT'],
    ['file over implicit dir', [file('a/b'), file('a')], 'SWARM_ERR_TAR_PATH_CONFLICT'],
  ];
  for (const [title, headers, expected] of refusals) {
    it(`refuses ${title} with ${expected}`, () => {
      const { last } = feed(headers);
      assert.equal(code(last), expected);
      assert.ok(!last.ok && last.message.length > 10);
    });
  }

  it('enforces entry count, unpacked size and path length limits', () => {
    const limits = { ...DEFAULT_INSTALL_LIMITS, maxEntries: 2, maxUnpackedBytes: 10, maxPathBytes: 20 };
    assert.equal(code(feed([file('a'), file('b'), file('c')], limits).last), 'SWARM_ERR_TAR_TOO_MANY_ENTRIES');
    assert.equal(code(feed([file('a', { size: 6 }), file('b', { size: 5 })], limits).last), 'SWARM_ERR_TAR_TOO_LARGE');
    assert.equal(code(feed([file('x'.repeat(21))], limits).last), 'SWARM_ERR_TAR_PATH_TOO_LONG');
    assert.equal(code(feed([file('é'.repeat(11))], limits).last), 'SWARM_ERR_TAR_PATH_TOO_LONG', 'bytes, not characters');
    assert.equal(code(feed([link('l', 'y'.repeat(21))], limits).last), 'SWARM_ERR_TAR_PATH_TOO_LONG');
  });

  it('resolves a path through inner symlinks, and not past the root', () => {
    const { state } = feed([file('bin/real', { mode: 0o755 }), link('bin/agent', 'real'), link('current', 'bin'), link('loop', 'loop'), { name: 'dir', type: 'directory' }]);
    assert.deepEqual(resolveInRelease(state, 'current/agent'), { path: 'bin/real', kind: 'file', mode: 0o755 });
    assert.equal(resolveInRelease(state, 'loop'), undefined);
    assert.equal(resolveInRelease(state, 'missing'), undefined);
    assert.equal(resolveInRelease(state, 'bin/real/x'), undefined);
    assert.equal(resolveInRelease(state, 'dir')?.kind, 'directory');
  });
});
