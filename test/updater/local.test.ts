// `swarm-updater status` and `swarm-updater rollback` on the host with only files on disk (controller down, updater
// stopped), and rollback handed to a running updater.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import type { UpdaterStatus } from '../../shared/wire.js';
import { buildAgentRelease, type BuiltRelease } from './helpers/agent-release.js';
import { agentHealth, eventually, makeHost, sendRelease, startUpdater, UPDATER_MAIN, updaterClient, type TestHost } from './helpers/host.js';

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

  it('rollback with nothing running moves active back to prev and marks the release bad; the agent starts on it', async () => {
    const r = await cli(host, ['rollback', '--json', '--restart', 'spawn']);
    assert.equal(r.code, 0, r.stderr);
    const record = JSON.parse(r.stdout) as { state: string; to: { id: string } };
    assert.equal(record.state, 'rolled-back');
    assert.equal(await readlink(join(host.installDir, 'active')), `releases/${v1.dirName}`);
    const u = await startUpdater(host);
    try {
      const h = await eventually(async () => ((await agentHealth(host)).release === v1.id ? true : undefined), 'the agent on v1');
      assert.ok(h);
      const s = JSON.parse((await cli(host, ['status', '--json'])).stdout) as UpdaterStatus;
      assert.equal(s.agent?.release, v1.id);
      assert.ok(s.badReleases.includes(v2.id));
      // Asked again: nothing older is healthy and unmarked: exit 1, one line.
      const again = await cli(host, ['rollback']);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /SWARM_ERR_UPDATER_NO_ROLLBACK_TARGET/);
      assert.equal(again.stderr.trim().split('\n').length, 1);
    } finally {
      await u.stop();
    }
  });

  it('rollback while the updater runs is done by the updater (it owns the agent)', async () => {
    const u = await startUpdater(host);
    try {
      assert.equal((await sendRelease(client, u.port, v3)).status, 200);
      const r = await cli(host, ['rollback', '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await readlink(join(host.installDir, 'active')), `releases/${v1.dirName}`);
      const h = await agentHealth(host);
      assert.equal(h.release, v1.id);
      assert.equal(h.status, 'ok');
    } finally {
      await u.stop();
    }
  });
});
