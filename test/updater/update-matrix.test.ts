// The update/rollback matrix in-process (DESIGN.md §5): the real engine, store and records; a fake runner and a
// scripted health source play each bad agent. update.test.ts keeps the real-process smoke test of the same path.
import assert from 'node:assert/strict';
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { OperationRecord } from '../../shared/wire.js';
import { buildAgentRelease, type BuiltRelease } from './helpers/agent-release.js';
import { makeEngineHost, type EngineHost, type FakeBehaviour } from './helpers/engine-host.js';

// Tiny but not racy: a good fake agent answers its first probe; only the bad ones wait out the probe deadline, and
// the watch window's first probe comes after one interval, however late, so a death inside it is always seen.
const PROBE_DEADLINE_MS = 150;
const WATCH_MS = 60;

describe('updater: update matrix in-process (first install, a second, every bad kind rolls back)', function () {
  this.timeout(20_000);
  let h: EngineHost;
  let v1: BuiltRelease;
  let v2: BuiltRelease;
  const send = (r: BuiltRelease): Promise<OperationRecord> => h.send(r);
  const link = (name: 'active' | 'prev'): Promise<string> => readlink(join(h.paths.installDir, name));

  before(async () => {
    [v1, v2] = await Promise.all([buildAgentRelease('1.0.0'), buildAgentRelease('2.0.0')]);
    // The real watch window tolerates 3 failed probes: a death is then seen as the runner's exit, as on a host.
    h = await makeEngineHost({ watchMs: WATCH_MS, probeDeadlineMs: PROBE_DEADLINE_MS, watchMaxFailures: 3 });
  });
  after(() => h?.cleanup());

  it('installs a first good release: committed, active, and the agent runs its id', async () => {
    const r = await send(v1);
    assert.equal(r.state, 'committed', JSON.stringify(r));
    assert.equal(await link('active'), `releases/${v1.dirName}`);
    assert.equal(h.runner.running, v1.id);
  });

  it('updates to a second good release: active -> v2, prev -> v1, same release again is not installed twice', async () => {
    const r = await send(v2);
    assert.equal(r.state, 'committed', JSON.stringify(r));
    assert.equal(h.runner.running, v2.id);
    assert.equal(await link('active'), `releases/${v2.dirName}`);
    assert.equal(await link('prev'), `releases/${v1.dirName}`);
    const pid = h.runner.pid;
    const again = await send(v2);
    assert.equal(again.state, 'committed');
    assert.equal(again.id, r.id, 'the committed operation is returned, not a new one');
    assert.equal(h.runner.pid, pid, 'the agent was not restarted');
  });

  // Each bad kind, and the reason the record gives: it proves which check caught it (probe, or the watch after it).
  const BAD: Array<[string, FakeBehaviour, RegExp]> = [
    ['exits at start', 'exit', /agent exited \(code 3/],
    ['never listens (the probe deadline passes)', 'no-listen', new RegExp(`not healthy within ${PROBE_DEADLINE_MS} ms: agent unreachable`)],
    ['reports another release id', 'other-id', /agent reports release 000000000000, expected/],
    ['reports failing', 'failing', /reports status failing/],
    // Exit code 4 comes only from the watch window's probe reaching that agent: the probe had passed.
    ['dies inside the watch window (the runner reports its exit)', 'die-when-watched', /agent exited \(code 4/],
  ];
  BAD.forEach(([what, behaviour, reason], i) => {
    it(`rolls back a release that ${what}: v2 active and healthy, the bad one marked bad`, async () => {
      const bad = await buildAgentRelease(`3.0.${i}`, { mode: behaviour });
      h.behaviours.set(bad.id, behaviour);
      const r = await send(bad);
      assert.equal(r.state, 'rolled-back', JSON.stringify(r));
      assert.equal(r.to?.id, v2.id);
      assert.match(JSON.stringify(r.steps), reason);
      assert.equal(h.runner.running, v2.id, 'the agent runs v2 again');
      assert.equal(await link('active'), `releases/${v2.dirName}`);
      assert.equal(await link('prev'), `releases/${v1.dirName}`, 'prev stays on the release before the good one');
      assert.equal((await h.store.list()).find((x) => x.id === bad.id)?.bad, true);
      const pid = h.runner.pid;
      const again = await send(bad);
      assert.equal(again.state, 'rolled-back');
      assert.equal(again.id, r.id, 'sending a rolled-back release again returns its outcome');
      assert.equal(h.runner.pid, pid, 'and touches nothing');
    });
  });
});
