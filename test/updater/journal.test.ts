// The journals' phases: today's shape, the legacy shape (from/to) still read and converted, and a host upgraded in
// the middle of an operation finishing it from a legacy journal.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JournalFile, parseJournal, type JournalEntry } from '../../updater/journal.js';
import { parseSelfUpdateJournal, SelfUpdateJournalFile } from '../../updater/self-update-journal.js';
import { tempDir } from '../helpers/pki.js';
import { buildAgentRelease, type BuiltRelease } from './helpers/agent-release.js';
import { makeEngineHost, type EngineHost } from './helpers/engine-host.js';

const AT = '2024-01-01T00:00:00.000Z';

describe('update journal: phases and the legacy shape', () => {
  it('converts a legacy switching journal: from/to become previous/next', () => {
    const j = parseJournal({ op: 'op-1', kind: 'update', phase: 'switching', from: 'a', to: 'b', prevBefore: 'z', at: AT });
    assert.deepEqual(j, { op: 'op-1', phase: 'switching', previous: 'a', next: 'b', prevBefore: 'z', at: AT });
  });

  it('converts a legacy rolling-back journal of a failed update: the failed release is left and marked bad', () => {
    const j = parseJournal({ op: 'op-1', kind: 'update', phase: 'rolling-back', from: 'b', to: 'a', prevBefore: 'z', prevAfter: 'z', failed: 'b', fallbacks: ['z'], at: AT });
    assert.deepEqual(j, { op: 'op-1', phase: 'rolling-back', cause: 'failed', leaving: 'b', target: 'a', fallbacks: ['z'], prevAfter: 'z', prevBefore: 'z', reason: null, at: AT });
  });

  it('converts a legacy asked-for rollback (kind rollback) to cause "requested", defaults as the old schema had them', () => {
    const j = parseJournal({ op: 'op-2', kind: 'rollback', phase: 'rolling-back', from: 'b', to: 'a', prevBefore: null, at: AT });
    assert.deepEqual(j, { op: 'op-2', phase: 'rolling-back', cause: 'requested', leaving: 'b', target: 'a', fallbacks: [], prevAfter: null, prevBefore: null, reason: null, at: AT });
  });

  it('refuses what is neither shape', () => {
    assert.equal(parseJournal({ op: 'op-1', phase: 'switching', to: 'b' }), undefined);
    assert.equal(parseJournal({ op: 'op-1', phase: 'committing', previous: null, next: 'b', prevBefore: null, at: AT }), undefined);
  });

  it('writes today\'s fields and the legacy ones (an older updater restored by a failed self-update can finish it), and reads back today\'s', async () => {
    const t = await tempDir('swarm-journal-');
    try {
      const file = new JournalFile(join(t.path, 'journal.json'));
      const entry: JournalEntry = { op: 'op-3', phase: 'rolling-back', cause: 'requested', leaving: 'b', target: 'a', fallbacks: ['z'], prevAfter: 'z', prevBefore: 'z', reason: null };
      await file.write(entry);
      const raw = JSON.parse(await readFile(join(t.path, 'journal.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual([raw.kind, raw.from, raw.to, raw.failed, raw.fallbacks, raw.prevAfter], ['rollback', 'b', 'a', 'b', ['z'], 'z']);
      const back = await file.read();
      assert.deepEqual({ ...back, at: AT }, { ...entry, at: AT });
      await writeFile(join(t.path, 'journal.json'), '{"op":"x"}');
      await assert.rejects(file.read(), /not valid/);
    } finally {
      await t.cleanup();
    }
  });
});

describe('self-update journal: phases and the legacy shape', () => {
  it('converts from/to and writes both shapes (the packaged supervisor may be older than the worker)', async () => {
    assert.deepEqual(parseSelfUpdateJournal({ op: 'op-1', phase: 'pending', from: null, to: 'u2', prevBefore: null, attempts: 1, at: AT }),
      { op: 'op-1', phase: 'pending', previous: null, next: 'u2', prevBefore: null, attempts: 1, at: AT });
    const t = await tempDir('swarm-sujournal-');
    try {
      const file = new SelfUpdateJournalFile(join(t.path, 'self-update.json'));
      await file.write({ op: 'op-2', phase: 'pending', previous: 'u1', next: 'u2', prevBefore: null, attempts: 0 });
      const raw = JSON.parse(await readFile(file.path, 'utf8')) as Record<string, unknown>;
      assert.deepEqual([raw.from, raw.to, raw.previous, raw.next], ['u1', 'u2', 'u1', 'u2']);
      assert.equal((await file.read())?.next, 'u2');
    } finally {
      await t.cleanup();
    }
  });
});

describe('recovery from a legacy journal (a host upgraded in the middle of an operation)', function () {
  this.timeout(20_000);
  let h: EngineHost;
  let v1: BuiltRelease;
  let v2: BuiltRelease;

  before(async () => {
    [v1, v2] = await Promise.all([buildAgentRelease('1.0.0'), buildAgentRelease('2.0.0')]);
  });
  beforeEach(async () => {
    h = await makeEngineHost();
    for (const r of [v1, v2]) assert.equal((await h.send(r)).state, 'committed');
  });
  afterEach(() => h.cleanup());

  async function restartWith(legacy: Record<string, unknown>): Promise<void> {
    await writeFile(h.paths.journal, JSON.stringify({ at: AT, ...legacy }));
    await h.reopen({ watchMs: 0 });
    await h.updater.whenIdle();
  }

  it('switching with active on `to`: probes the new release and commits it', async () => {
    await restartWith({ op: 'op-legacy1', kind: 'update', phase: 'switching', from: v1.dirName, to: v2.dirName, prevBefore: null });
    assert.equal((await h.store.readLinks()).active?.id, v2.id);
    assert.equal((await h.operations.get('op-legacy1'))?.state, 'committed');
    assert.equal(await new JournalFile(h.paths.journal).read(), null, 'the journal is cleared');
  });

  it('switching with active still on `from`: the switch never happened, the record says so', async () => {
    await h.store.setLinks({ active: v1.dirName, prev: null });
    await restartWith({ op: 'op-legacy2', kind: 'update', phase: 'switching', from: v1.dirName, to: v2.dirName, prevBefore: null });
    assert.equal((await h.store.readLinks()).active?.id, v1.id);
    assert.equal(h.runner.running, v1.id);
    assert.equal((await h.operations.get('op-legacy2'))?.error?.code, 'SWARM_ERR_UPDATER_INTERRUPTED');
  });

  it('rolling-back of a failed update: active goes to `to`, the failed release is marked bad', async () => {
    await restartWith({ op: 'op-legacy3', kind: 'update', phase: 'rolling-back', from: v2.dirName, to: v1.dirName, prevBefore: v1.dirName, prevAfter: null, failed: v2.dirName, fallbacks: [] });
    assert.equal((await h.store.readLinks()).active?.id, v1.id);
    assert.equal(h.runner.running, v1.id);
    assert.equal((await h.operations.get('op-legacy3'))?.state, 'rolled-back');
    assert.equal((await h.store.list()).find((r) => r.id === v2.id)?.bad, true);
  });
});
