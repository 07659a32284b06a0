// Self-update under the supervisor (spawn mode): a healthy new updater commits; one that fails to start, or never
// confirms, is replaced by the previous updater without anyone touching the host.
import assert from 'node:assert/strict';
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { buildAgentRelease, buildUpdaterRelease } from './helpers/agent-release.js';
import { agentHealth, call, eventually, freePort, makeHost, sendRelease, startUpdater, UPDATER_MAIN, updaterClient, type RunningUpdater, type TestHost } from './helpers/host.js';

describe('updater: self-update with the supervisor', function () {
  this.timeout(90_000);
  let host: TestHost;
  let sup: RunningUpdater;
  let client: Dispatcher;
  let port: number;

  before(async () => {
    host = await makeHost({ selfUpdate: { deadlineMs: 5_000 } });
    port = await freePort();
    sup = await startUpdater(host, { supervise: true, args: ['--listen', `127.0.0.1:${port}`] });
    client = (await updaterClient()).dispatcher;
    assert.equal((await sendRelease(client, port, await buildAgentRelease('1.0.0'))).status, 200);
  });

  after(async () => {
    await client?.close();
    await sup?.stop();
    await host?.cleanup();
  });

  async function outcome(opId: string): Promise<Record<string, unknown>> {
    return eventually(async () => {
      const r = await call(client, port, 'GET', `/v1/operations/${opId}`);
      return r.status === 200 && r.body.state !== 'running' ? r.body : undefined;
    }, `self-update ${opId} to end`, 30_000);
  }

  async function updaterVersion(): Promise<string> {
    return eventually(async () => {
      const r = await call(client, port, 'GET', '/v1/health');
      return r.status === 200 ? String(r.body.version) : undefined;
    }, 'an updater answering');
  }

  it('a healthy new updater takes over and commits', async () => {
    const rel = await buildUpdaterRelease('9.0.0', 'good', UPDATER_MAIN);
    const r = await sendRelease(client, port, rel, '/v1/self-update');
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const done = await outcome(String(r.body.id));
    assert.equal(done.state, 'committed');
    assert.equal(await updaterVersion(), '9.0.0');
    assert.equal(await readlink(join(host.installDir, 'updater', 'active')), `releases/${rel.dirName}`);
    await eventually(async () => ((await agentHealth(host)).status === 'ok' ? true : undefined), 'the agent healthy under the new updater');
  });

  for (const kind of ['exit', 'hang'] as const) {
    it(`a new updater that ${kind === 'exit' ? 'fails to start' : 'never confirms'} is replaced by the previous one`, async () => {
      const rel = await buildUpdaterRelease(kind === 'exit' ? '9.1.0' : '9.2.0', kind, UPDATER_MAIN);
      const r = await sendRelease(client, port, rel, '/v1/self-update');
      assert.equal(r.status, 202, JSON.stringify(r.body));
      const done = await outcome(String(r.body.id));
      assert.equal(done.state, 'rolled-back');
      assert.equal((done.error as { code: string }).code, 'SWARM_ERR_UPDATER_SELF_UPDATE_FAILED');
      assert.equal(await updaterVersion(), '9.0.0');
      assert.match(await readlink(join(host.installDir, 'updater', 'active')), /^releases\/9\.0\.0-/);
      const bad = JSON.parse(await readFile(join(host.installDir, 'updater', 'state', 'bad-releases.json'), 'utf8')) as unknown;
      assert.match(JSON.stringify(bad), new RegExp(rel.id));
      const h = await eventually(async () => {
        const x = await agentHealth(host);
        return x.status === 'ok' ? x : undefined;
      }, 'the agent healthy again');
      assert.equal(h.status, 'ok');
    });
  }
});

describe('updater: self-update survives a kill -9 of the worker', function () {
  this.timeout(90_000);

  for (const [fault, expectVersion, expectState] of [['self-update-after-links', '9.5.0', 'committed'], ['self-update-after-journal', null, 'rolled-back']] as const) {
    it(`SIGKILL at ${fault}: the supervisor ${expectState === 'committed' ? 'gives the new updater its trial' : 'restores the old updater'}`, async () => {
      const host = await makeHost({ selfUpdate: { deadlineMs: 5_000 } });
      const port = await freePort();
      const sup = await startUpdater(host, { supervise: true, args: ['--listen', `127.0.0.1:${port}`], env: { SWARM_FAULT: fault } });
      const client = (await updaterClient()).dispatcher;
      try {
        const baseVersion = String((await call(client, port, 'GET', '/v1/health')).body.version);
        const rel = await buildUpdaterRelease('9.5.0', 'good', UPDATER_MAIN);
        const answer = await sendRelease(client, port, rel, '/v1/self-update').catch(() => null);
        assert.equal(answer, null, 'the worker died before answering');
        const done = await eventually(async () => {
          const latest = await call(client, port, 'GET', '/v1/operations/latest');
          return latest.status === 200 && latest.body.kind === 'self-update' && latest.body.state !== 'running' ? latest.body : undefined;
        }, 'the self-update to end', 30_000);
        assert.equal(done.state, expectState);
        const version = String((await call(client, port, 'GET', '/v1/health')).body.version);
        assert.equal(version, expectVersion ?? baseVersion);
      } finally {
        await client.close();
        await sup.stop();
        await host.cleanup();
      }
    });
  }
});
