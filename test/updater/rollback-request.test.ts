// POST /v1/rollback over mTLS: the record names the caller's identity and its reason; the release left stays
// installable (a drill does not burn it); a reason that is too long or not printable is refused before anything moves.
import assert from 'node:assert/strict';
import { request, type Dispatcher } from 'undici';
import { LIMITS } from '../../shared/limits.js';
import { buildAgentRelease, type BuiltRelease } from './helpers/agent-release.js';
import { call, makeHost, sendRelease, startUpdater, updaterClient, type RunningUpdater, type TestHost } from './helpers/host.js';

describe('updater: POST /v1/rollback (who asked, why)', function () {
  this.timeout(60_000);
  let host: TestHost;
  let updater: RunningUpdater;
  let client: Dispatcher;
  let v1: BuiltRelease;
  let v2: BuiltRelease;

  async function send(method: 'POST' | 'DELETE', path: string, json?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await request(`https://127.0.0.1:${updater.port}${path}`, {
      method, dispatcher: client, ...(json === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  before(async () => {
    host = await makeHost();
    updater = await startUpdater(host);
    client = (await updaterClient()).dispatcher;
    [v1, v2] = await Promise.all([buildAgentRelease('1.0.0'), buildAgentRelease('2.0.0')]);
    assert.equal((await sendRelease(client, updater.port, v1)).status, 200);
    assert.equal((await sendRelease(client, updater.port, v2)).status, 200);
  });

  after(async () => {
    await client?.close();
    await updater?.stop();
    await host?.cleanup();
  });

  it('refuses a reason that is too long or would drive a terminal (400, nothing moves)', async () => {
    for (const reason of ['x'.repeat(LIMITS['updater.rollback.reason-chars'].value + 1), 'drill\u001b[2J', '']) {
      const r = await send('POST', '/v1/rollback', { reason });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.code, 'SWARM_ERR_BAD_REQUEST');
    }
    const health = await call(client, updater.port, 'GET', '/v1/health');
    assert.equal((health.body.active as { id: string }).id, v2.id);
  });

  it('records the caller and the reason; the release left is not marked bad and can be sent again', async () => {
    const r = await send('POST', '/v1/rollback', { reason: 'drill 7' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.state, 'rolled-back');
    assert.equal(r.body.requestedBy, 'spiffe://test/controller/controller');
    assert.equal(r.body.reason, 'drill 7');
    const releases = (await call(client, updater.port, 'GET', '/v1/releases')).body as unknown as Array<{ id: string; bad: boolean }>;
    assert.equal(releases.find((x) => x.id === v2.id)?.bad, false);
    const again = await sendRelease(client, updater.port, v2);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.state, 'committed');
  });

  it('DELETE /v1/releases/:id/bad clears a mark (by a unique prefix): the release can be sent again', async () => {
    const bad = await buildAgentRelease('3.0.0', { mode: 'exit' });
    const failed = await sendRelease(client, updater.port, bad);
    assert.equal(failed.status, 409, JSON.stringify(failed.body));
    assert.equal((await send('DELETE', '/v1/releases/zz/bad')).status, 400);
    const none = await send('DELETE', `/v1/releases/${'0'.repeat(8)}/bad`);
    assert.deepEqual([none.status, none.body.code], [404, 'SWARM_ERR_UPDATER_NOT_MARKED_BAD']);
    const r = await send('DELETE', `/v1/releases/${bad.id.slice(0, 10)}/bad`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { id: bad.id, bad: false });
    const releases = (await call(client, updater.port, 'GET', '/v1/releases')).body as unknown as Array<{ id: string; bad: boolean }>;
    assert.equal(releases.find((x) => x.id === bad.id)?.bad, false);
    const again = await sendRelease(client, updater.port, bad);
    assert.equal(again.status, 409, 'it is tried again (and, still broken, rolled back again)');
    assert.notEqual(again.body.id, failed.body.id, 'a new operation, not the old outcome');
  });

  it('takes no body as well (reason optional)', async () => {
    const r = await send('POST', '/v1/rollback');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.requestedBy, 'spiffe://test/controller/controller');
    assert.equal(r.body.reason, undefined);
  });
});
