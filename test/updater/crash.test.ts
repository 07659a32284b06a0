// Crash consistency: SIGKILL the updater at every step of update and rollback, restart it, and find `active` on a
// complete release with a healthy agent reporting that release.
import assert from 'node:assert/strict';
import { access, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { buildAgentRelease, type AgentBehaviour } from './helpers/agent-release.js';
import { agentHealth, call, eventually, makeHost, sendRelease, startUpdater, updaterClient, type RunningUpdater, type TestHost } from './helpers/host.js';

interface Case {
  fault: string;
  /** The release sent: good (update faults) or bad (rollback faults happen while rolling it back). */
  behaviour: AgentBehaviour;
  /** Where active must end: the new release or the one before. */
  expect: 'new' | 'old';
  /** POST /v1/rollback instead of an update. */
  manualRollback?: boolean;
}

const CASES: Case[] = [
  { fault: 'after-staged', behaviour: { mode: 'good' }, expect: 'old' },
  { fault: 'after-journal', behaviour: { mode: 'good' }, expect: 'old' },
  { fault: 'after-prev-link', behaviour: { mode: 'good' }, expect: 'old' },
  { fault: 'after-active-link', behaviour: { mode: 'good' }, expect: 'new' },
  { fault: 'after-restart', behaviour: { mode: 'good' }, expect: 'new' },
  { fault: 'after-probe', behaviour: { mode: 'good' }, expect: 'new' },
  { fault: 'before-commit', behaviour: { mode: 'good' }, expect: 'new' },
  { fault: 'after-active-link', behaviour: { mode: 'exit' }, expect: 'old' },
  { fault: 'rollback-after-journal', behaviour: { mode: 'exit' }, expect: 'old' },
  { fault: 'rollback-after-active-link', behaviour: { mode: 'exit' }, expect: 'old' },
  { fault: 'rollback-after-restart', behaviour: { mode: 'failing' }, expect: 'old' },
  { fault: 'rollback-before-commit', behaviour: { mode: 'exit' }, expect: 'old' },
  { fault: 'rollback-after-active-link', behaviour: { mode: 'good' }, expect: 'old', manualRollback: true },
  { fault: 'rollback-before-commit', behaviour: { mode: 'good' }, expect: 'old', manualRollback: true },
];

describe('updater: crash consistency (kill -9 at every step)', function () {
  this.timeout(120_000);
  let host: TestHost;
  let client: Dispatcher;
  let updater: RunningUpdater | undefined;

  before(async () => {
    host = await makeHost({ watch: { windowMs: 300, intervalMs: 50, maxFailures: 2 }, probe: { deadlineMs: 1_500, intervalMs: 50, backoffMaxMs: 200, requestTimeoutMs: 1_000 } });
    client = (await updaterClient()).dispatcher;
    updater = await startUpdater(host);
    const first = await buildAgentRelease('0.1.0');
    assert.equal((await sendRelease(client, updater.port, first)).status, 200);
  });

  after(async () => {
    await updater?.stop();
    await client?.close();
    await host?.cleanup();
  });

  /** Wait until the restarted updater has finished recovery. */
  async function idle(u: RunningUpdater): Promise<void> {
    await eventually(async () => {
      const r = await call(client, u.port, 'GET', '/v1/health');
      return r.body.running === null ? true : undefined;
    }, 'recovery to finish');
  }

  CASES.forEach((c, i) => {
    it(`${c.manualRollback ? 'rollback' : c.behaviour.mode === 'good' ? 'update' : 'update of a bad release'}: SIGKILL at ${c.fault}`, async () => {
      await updater!.stop();
      const oldDir = await readlink(join(host.installDir, 'active'));
      let newDir: string;
      updater = await startUpdater(host, { env: { SWARM_FAULT: c.fault } });
      if (c.manualRollback) {
        // Give the host a newer release to roll back from, then ask for the rollback.
        await updater.stop();
        updater = await startUpdater(host);
        const extra = await buildAgentRelease(`5.${i}.0`, c.behaviour);
        assert.equal((await sendRelease(client, updater.port, extra)).status, 200);
        newDir = `releases/${extra.dirName}`;
        await updater.stop();
        updater = await startUpdater(host, { env: { SWARM_FAULT: c.fault } });
        call(client, updater.port, 'POST', '/v1/rollback').catch(() => undefined);
      } else {
        const rel = await buildAgentRelease(`4.${i}.0`, c.behaviour);
        newDir = `releases/${rel.dirName}`;
        sendRelease(client, updater.port, rel).catch(() => undefined);
      }
      const [, signal] = await updater.exited;
      assert.equal(signal, 'SIGKILL', 'the updater died at the fault point');
      updater = await startUpdater(host);
      await idle(updater);
      const active = await readlink(join(host.installDir, 'active'));
      await access(join(host.installDir, active, '.swarm-release.json'));
      const expected = c.expect === 'new' ? newDir : oldDir;
      const h = await eventually(async () => {
        const x = await agentHealth(host);
        return x.status === 'ok' ? x : undefined;
      }, 'a healthy agent');
      assert.equal(active, expected);
      assert.equal(`releases/${h.version}-${h.release.slice(0, 12)}`, active, 'the agent answering runs the active release');
      if (c.fault.startsWith('rollback-')) {
        const releases = (await call(client, updater.port, 'GET', '/v1/releases')).body as unknown as Array<{ dir: string; bad: boolean }>;
        // A failed release is marked bad; one an asked-for rollback leaves is not (also when recovery finished it).
        if (c.manualRollback) assert.equal(releases.find((r) => `releases/${r.dir}` === newDir)?.bad, false, 'the release an asked-for rollback left is not marked bad');
        else assert.equal(releases.find((r) => `releases/${r.dir}` === newDir)?.bad, true, 'the release rolled back from is marked bad');
      }
    });
  });
});
