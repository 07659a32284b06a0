// `swarm-updater status` and `swarm-updater rollback` on the host with only files on disk (controller down, updater
// stopped), and rollback handed to a running updater.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import type { UpdaterStatus } from '../../shared/wire.js';
import { buildAgentRelease, type BuiltRelease } from './helpers/agent-release.js';
import { agentHealth, eventually, freePort, makeHost, sendRelease, startUpdater, TEST_CONFIG, UPDATER_MAIN, updaterClient, type TestHost } from './helpers/host.js';

function cli(host: TestHost, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [UPDATER_MAIN, ...args, '--install-dir', host.installDir, '--pki-dir', host.pkiDir, '--config', host.configFile],
      { encoding: 'utf8', timeout: 30_000, env: { ...process.env, INVOCATION_ID: '' } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

describe('updater: local status and rollback (controller down)', function () {
  this.timeout(60_000);
  let host: TestHost;
  let client: Dispatcher;
  let v1: BuiltRelease;
  let v2: BuiltRelease;
  let v3: BuiltRelease;

  before(async () => {
    host = await makeHost();
    client = (await updaterClient()).dispatcher;
    [v1, v2, v3] = await Promise.all([buildAgentRelease('1.0.0'), buildAgentRelease('2.0.0'), buildAgentRelease('3.0.0')]);
    const u = await startUpdater(host);
    assert.equal((await sendRelease(client, u.port, v1)).status, 200);
    assert.equal((await sendRelease(client, u.port, v2)).status, 200);
    await u.stop();
  });

  after(async () => {
    await client?.close();
    await host?.cleanup();
  });

  it('status --json reads active, prev and the last operation from disk with no updater running', async () => {
    const r = await cli(host, ['status', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as UpdaterStatus;
    assert.equal(s.active?.id, v2.id);
    assert.equal(s.prev?.id, v1.id);
    assert.equal(s.lastOperation?.state, 'committed');
    assert.equal(s.lastOperation?.release?.id, v2.id);
    assert.equal(s.agent, null, 'no agent runs while the updater is stopped (spawn mode)');
    const human = await cli(host, ['status']);
    assert.match(human.stdout, new RegExp(`active: +${v2.dirName}`));
  });

  it('rollback with nothing running moves active back to prev, records who asked and why, and does not mark the release bad; the agent starts on it', async () => {
    const r = await cli(host, ['rollback', '--json', '--restart', 'spawn', '--reason', 'drill 7']);
    assert.equal(r.code, 0, r.stderr);
    const record = JSON.parse(r.stdout) as { state: string; to: { id: string }; requestedBy?: string; reason?: string };
    assert.equal(record.state, 'rolled-back');
    assert.deepEqual([record.requestedBy, record.reason], ['local', 'drill 7']);
    assert.equal(await readlink(join(host.installDir, 'active')), `releases/${v1.dirName}`);
    const u = await startUpdater(host);
    try {
      const h = await eventually(async () => ((await agentHealth(host)).release === v1.id ? true : undefined), 'the agent on v1');
      assert.ok(h);
      const s = JSON.parse((await cli(host, ['status', '--json'])).stdout) as UpdaterStatus;
      assert.equal(s.agent?.release, v1.id);
      // An asked-for rollback (a drill) must not burn the release it leaves: only a failed probe/watch marks one bad.
      assert.ok(!s.badReleases.includes(v2.id), 'the release rolled back from is not marked bad');
      // Asked again: nothing older is healthy and unmarked: exit 1, one line.
      const again = await cli(host, ['rollback']);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /SWARM_ERR_UPDATER_NO_ROLLBACK_TARGET/);
      assert.equal(again.stderr.trim().split('\n').length, 1);
    } finally {
      await u.stop();
    }
  });

  it('unmark-bad clears a mark by a unique prefix (usage error for a short one, exit 1 when none matches)', async () => {
    const { ReleaseStore } = await import('../../updater/install/index.js');
    const store = new ReleaseStore({ root: host.installDir, stagingDir: join(host.installDir, 'staging'), stateDir: join(host.installDir, 'state') });
    await store.markBad(v3.id, 'test');
    assert.equal((await cli(host, ['unmark-bad', 'abc'])).code, 2);
    const none = await cli(host, ['unmark-bad', '00000000']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /SWARM_ERR_UPDATER_NOT_MARKED_BAD/);
    const r = await cli(host, ['unmark-bad', v3.id.slice(0, 12)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`release ${v3.id} is no longer marked bad`));
    assert.equal(await store.isBad(v3.id), false);
  });

  it('rollback while the updater runs is done by the updater (it owns the agent)', async () => {
    const u = await startUpdater(host);
    try {
      assert.equal((await sendRelease(client, u.port, v3)).status, 200);
      const r = await cli(host, ['rollback', '--json', '--reason', 'incident 42']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual((({ requestedBy, reason }) => [requestedBy, reason])(JSON.parse(r.stdout) as { requestedBy?: string; reason?: string }), ['local', 'incident 42']);
      assert.equal(await readlink(join(host.installDir, 'active')), `releases/${v1.dirName}`);
      const h = await agentHealth(host);
      assert.equal(h.release, v1.id);
      assert.equal(h.status, 'ok');
    } finally {
      await u.stop();
    }
  });
});

describe('updater: local status is read-only and names the agent port it tried', function () {
  this.timeout(60_000);
  let host: TestHost;

  before(async () => {
    host = await makeHost();
  });
  after(async () => {
    await host?.cleanup();
  });

  it('creates no directory on a host where nothing is installed yet', async () => {
    const r = await cli(host, ['status', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as UpdaterStatus).active, null);
    await assert.rejects(access(host.installDir), { code: 'ENOENT' }, 'status made no directory');
  });

  it('takes --agent-port like run, and says which address did not answer', async () => {
    // run gets the agent port as a flag; the config file (which status reads) names another port, where nothing listens.
    const closed = await freePort();
    await writeFile(host.configFile, JSON.stringify({ ...TEST_CONFIG, agentPort: closed }));
    const client = (await updaterClient()).dispatcher;
    const u = await startUpdater(host);
    try {
      const v1 = await buildAgentRelease('1.0.0');
      assert.equal((await sendRelease(client, u.port, v1)).status, 200);
      const wrong = await cli(host, ['status']);
      assert.equal(wrong.code, 0, wrong.stderr);
      assert.match(wrong.stdout, new RegExp(`agent not answering on 127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\)`));
      const right = await cli(host, ['status', '--agent-port', String(host.agentPort), '--json']);
      assert.equal(right.code, 0, right.stderr);
      const s = JSON.parse(right.stdout) as UpdaterStatus;
      assert.equal(s.agent?.release, v1.id);
      assert.equal(s.agent?.status, 'ok');
    } finally {
      await u.stop();
      await client.close();
    }
  });
});
