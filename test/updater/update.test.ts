// Updates end to end, the smoke test: real bin, real agent processes, real mTLS; good releases commit, a bad one
// rolls back over HTTP (409). The whole matrix of bad kinds runs in-process in update-matrix.test.ts.
import assert from 'node:assert/strict';
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { buildAgentRelease, type BuiltRelease } from './helpers/agent-release.js';
import { agentHealth, makeHost, sendRelease, startUpdater, updaterClient, call, type RunningUpdater, type TestHost } from './helpers/host.js';

describe('updater: update, probe, automatic rollback', function () {
  this.timeout(60_000);
  let host: TestHost;
  let updater: RunningUpdater;
  let client: Dispatcher;
  let v1: BuiltRelease;
  let v2: BuiltRelease;

  before(async () => {
    host = await makeHost();
    updater = await startUpdater(host);
    client = (await updaterClient()).dispatcher;
    [v1, v2] = await Promise.all([buildAgentRelease('1.0.0'), buildAgentRelease('2.0.0')]);
  });

  after(async () => {
    await client?.close();
    await updater?.stop();
    await host?.cleanup();
  });

  it('installs a first good release: committed, active, and the agent reports its id', async () => {
    const r = await sendRelease(client, updater.port, v1);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.state, 'committed');
    assert.equal(await readlink(join(host.installDir, 'active')), `releases/${v1.dirName}`);
    const h = await agentHealth(host);
    assert.equal(h.release, v1.id);
    assert.equal(h.status, 'ok');
  });

  it('updates to a second good release: active -> v2, prev -> v1, same release again is not installed twice', async () => {
    const r = await sendRelease(client, updater.port, v2);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await agentHealth(host)).release, v2.id);
    assert.equal(await readlink(join(host.installDir, 'prev')), `releases/${v1.dirName}`);
    const pid = (await agentHealth(host)).pid;
    const again = await sendRelease(client, updater.port, v2);
    assert.equal(again.status, 200);
    assert.equal(again.body.id, r.body.id, 'the committed operation is returned, not a new one');
    assert.equal((await agentHealth(host)).pid, pid, 'the agent was not restarted');
  });

  // One bad kind end to end; every other kind rolls back in update-matrix.test.ts (in-process, scripted health).
  it('rolls back a release that exits at start: v2 active and healthy, the bad one marked bad', async () => {
    const bad = await buildAgentRelease('3.0.0', { mode: 'exit' });
    const r = await sendRelease(client, updater.port, bad);
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.equal(r.body.state, 'rolled-back');
    assert.equal((r.body.to as { id: string }).id, v2.id);
    const h = await agentHealth(host);
    assert.equal(h.release, v2.id);
    assert.equal(h.status, 'ok');
    assert.equal(await readlink(join(host.installDir, 'active')), `releases/${v2.dirName}`);
    assert.equal(await readlink(join(host.installDir, 'prev')), `releases/${v1.dirName}`, 'prev stays on the release before the good one');
    const releases = await call(client, updater.port, 'GET', '/v1/releases');
    const listed = (releases.body as unknown as Array<{ id: string; bad: boolean }>).find((x) => x.id === bad.id);
    assert.equal(listed?.bad, true);
    const again = await sendRelease(client, updater.port, bad);
    assert.equal(again.status, 409);
    assert.equal(again.body.id, r.body.id, 'sending a rolled-back release again returns its outcome');
  });

  it('refuses bad requests with {code, message} and leaves the running agent alone', async () => {
    const before = await agentHealth(host);
    const noHeader = await call(client, updater.port, 'POST', '/v1/update', v1.tarball);
    assert.equal(noHeader.status, 400);
    assert.equal(noHeader.body.code, 'SWARM_ERR_BAD_REQUEST');
    assert.match(String(noHeader.body.message), /x-swarm-release-sha256/);
    const wrongType = await call(client, updater.port, 'POST', '/v1/update', v1.tarball, { 'content-type': 'application/json', 'x-swarm-release-sha256': v1.id });
    assert.equal(wrongType.status, 415);
    assert.equal(wrongType.body.code, 'SWARM_ERR_UPDATER_CONTENT_TYPE');
    const other = await buildAgentRelease('6.0.0');
    const tampered = await call(client, updater.port, 'POST', '/v1/update', other.tarball, { 'x-swarm-release-sha256': 'f'.repeat(64) });
    assert.equal(tampered.status, 400, JSON.stringify(tampered.body));
    assert.equal(tampered.body.code, 'SWARM_ERR_INSTALL_SHA256_MISMATCH');
    const latest = await call(client, updater.port, 'GET', '/v1/operations/latest');
    assert.equal(latest.body.state, 'refused');
    const after = await agentHealth(host);
    assert.deepEqual([after.pid, after.release], [before.pid, before.release]);
  });

  it('serves the outcome at /v1/operations/<id> and /latest', async () => {
    const latest = await call(client, updater.port, 'GET', '/v1/operations/latest');
    assert.equal(latest.status, 200);
    const byId = await call(client, updater.port, 'GET', `/v1/operations/${String(latest.body.id)}`);
    assert.deepEqual(byId.body, latest.body);
    const missing = await call(client, updater.port, 'GET', '/v1/operations/op-nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'SWARM_ERR_UPDATER_OPERATION_NOT_FOUND');
  });

  it('lists operation records newest first at /v1/operations, by release and kind', async () => {
    const all = await call(client, updater.port, 'GET', '/v1/operations');
    assert.equal(all.status, 200);
    const records = all.body as unknown as Array<{ id: string; kind: string; startedAt: string; release: { id: string } | null }>;
    assert.ok(records.length >= 2);
    const latest = await call(client, updater.port, 'GET', '/v1/operations/latest');
    assert.equal(records[0]!.id, latest.body.id);
    for (let i = 1; i < records.length; i++) assert.ok(records[i - 1]!.startedAt >= records[i]!.startedAt, 'newest first');
    const release = records.find((r) => r.kind === 'update' && r.release)!.release!.id;
    const one = await call(client, updater.port, 'GET', `/v1/operations?release=${release}&kind=update&limit=1`);
    const filtered = one.body as unknown as Array<{ release: { id: string }; kind: string }>;
    assert.equal(filtered.length, 1);
    assert.equal(filtered[0]!.release.id, release);
    const bad = await call(client, updater.port, 'GET', '/v1/operations?release=nothex');
    assert.equal(bad.status, 400);
  });
});
