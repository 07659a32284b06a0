// Process groups: a stop reaches the whole group, SIGKILL follows the grace period, a gone group is no error.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { isProcessAlive } from '../../shared/process.js';
import { OWN_GROUP, signalGroup, stopGroup } from '../../shared/process-group.js';

/** Start `sh -c script` in its own group; resolves with the child and the first line it prints. */
async function startGroup(script: string): Promise<{ child: ChildProcess; firstLine: string; exited: Promise<unknown> }> {
  const child = spawn('/bin/sh', ['-c', script], { ...OWN_GROUP, stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = once(child, 'exit');
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, firstLine: chunk.toString().trim().split('\n')[0]!, exited };
}

describe('shared/process-group', function () {
  this.timeout(20_000);

  it('SIGTERM reaches the leader and what it started', async () => {
    const { child, firstLine, exited } = await startGroup('sleep 30 & echo $!; wait');
    const grandchild = Number(firstLine);
    assert.ok(isProcessAlive(grandchild));
    const gone = await stopGroup(child.pid!, { graceMs: 10_000, exited });
    assert.equal(gone, true);
    assert.equal(child.signalCode, 'SIGTERM');
    // The grandchild got the same SIGTERM; it is reaped by init, so wait for that (bounded), never sleep-and-hope.
    for (let i = 0; i < 200 && isProcessAlive(grandchild); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(isProcessAlive(grandchild), false, 'the grandchild died with its group');
  });

  it('SIGKILL after the grace period when the group ignores SIGTERM', async () => {
    const { child, exited } = await startGroup('trap "" TERM; echo ready; while :; do sleep 0.05; done');
    const t0 = performance.now();
    const gone = await stopGroup(child.pid!, { graceMs: 200, exited });
    assert.equal(gone, true);
    assert.equal(child.signalCode, 'SIGKILL');
    assert.ok(performance.now() - t0 >= 190, 'the grace period was given');
  });

  it('polls gone() when there is no exit event, and a gone group is not an error', async () => {
    const { child, exited } = await startGroup('echo ready; exec sleep 30');
    const pid = child.pid!;
    assert.equal(await stopGroup(pid, { graceMs: 5_000, gone: () => child.exitCode !== null || child.signalCode !== null }), true);
    await exited;
    assert.equal(signalGroup(pid, 'SIGTERM'), false);
    assert.equal(await stopGroup(pid, { graceMs: 10, gone: () => true }), true, 'nothing to stop');
  });
});
