// The channel routes driven with injectWS (@fastify/websocket) through the peer-resolver seam: who may open a channel, and what it gets.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { CLOSE_CODES, MAX_CHANNEL_MESSAGE_BYTES } from '../../shared/channel-protocol.js';
import { agentHealth, enrollDirectly } from './helpers.js';
import { as, buildInjectController, rawUpgrade, testSerial, type InjectController } from './inject.js';

interface Message { type: string; [k: string]: unknown }

/** Open a channel in-process; resolves with the socket and a queue of the messages it receives. */
async function openChannel(app: FastifyInstance, path: string, headers: Record<string, string>): Promise<{ ws: WebSocket; next(): Promise<Message>; closed: Promise<number> }> {
  const queue: Message[] = [];
  const waiting: Array<(m: Message) => void> = [];
  let onClose: (code: number) => void = () => undefined;
  const closed = new Promise<number>((resolve) => (onClose = resolve));
  const ws = await app.injectWS(path, { headers }, {
    onInit: (socket) => {
      socket.on('message', (data) => {
        const m = JSON.parse(String(data)) as Message;
        const w = waiting.shift();
        if (w) w(m);
        else queue.push(m);
      });
      socket.on('close', (code) => onClose(code));
    },
  });
  return {
    ws,
    closed,
    next: () => {
      const m = queue.shift();
      return m ? Promise.resolve(m) : new Promise<Message>((resolve) => waiting.push(resolve));
    },
  };
}

describe('channel routes (injectWS, test peer resolver)', () => {
  let ctl: InjectController;
  let app: FastifyInstance;
  beforeEach(async () => {
    ctl = await buildInjectController({ heartbeatMs: 60_000 });
    app = ctl.app;
    await enrollDirectly(ctl.store, 'h1');
  });
  afterEach(async () => ctl?.close());

  it('an agent of an enrolled host gets welcome, then the denylist, and its reports are recorded', async () => {
    ctl.context.denylist.add(['0badc0de']);
    const ch = await openChannel(app, '/v1/channel/agent', as('agent', 'h1'));
    const welcome = await ch.next();
    assert.equal(welcome.type, 'welcome');
    assert.equal(welcome.identity, 'spiffe://test/agent/h1');
    assert.equal(welcome.heartbeatMs, 60_000);
    assert.deepEqual(await ch.next(), { type: 'revoked', serials: ['0badc0de'] });
    assert.deepEqual(ctl.context.hub.counts(), { agent: 1, updater: 0 });

    ch.ws.send(JSON.stringify({ type: 'report', report: agentHealth('e'.repeat(64)), certNotAfter: new Date(Date.now() + 60_000).toISOString() }));
    ctl.context.hub.broadcastRevoked(['feed']);
    // The hub handles a message before the next one it sends: once `revoked` arrives, the report was taken.
    assert.deepEqual(await ch.next(), { type: 'revoked', serials: ['feed'] });
    assert.equal((ctl.context.reports.get('h1')?.agent?.report as { release?: string }).release, 'e'.repeat(64));
    ch.ws.close();
    assert.equal(await ch.closed, 1005);
  });

  it('an updater of an enrolled host opens the updater channel', async () => {
    const ch = await openChannel(app, '/v1/channel/updater', as('updater', 'h1'));
    assert.equal((await ch.next()).identity, 'spiffe://test/updater/h1');
    assert.equal(ctl.context.hub.isOpen('updater', 'h1'), true);
    ch.ws.terminate();
  });

  it('refuses a revoked serial, a wrong role, a host that is not enrolled, no identity and unknown paths', async () => {
    ctl.context.denylist.add([testSerial('agent', 'h1')]);
    const refusals: Array<[string, Record<string, string>, number]> = [
      ['/v1/channel/agent', as('agent', 'h1'), 403], // revoked
      ['/v1/channel/agent', as('agent', 'h1', 'aaaa'), 101],
      ['/v1/channel/updater', as('agent', 'h1', 'aaaa'), 403],
      ['/v1/channel/agent', as('updater', 'h1'), 403],
      ['/v1/channel/agent', as('operator', 'ops1'), 403],
      ['/v1/channel/agent', as('agent', 'ghost'), 403],
      ['/v1/channel/agent', {}, 401],
      ['/v1/channel/nope', as('agent', 'h1', 'aaaa'), 404],
      ['/v1/hosts', as('operator', 'ops1'), 404],
    ];
    for (const [path, headers, status] of refusals) {
      const opened = app.injectWS(path, { headers });
      if (status === 101) {
        (await opened).terminate();
        continue;
      }
      await assert.rejects(opened, new RegExp(`Unexpected server response: ${status}$`), `${path} ${JSON.stringify(headers)}`);
    }
    assert.deepEqual(ctl.context.hub.counts(), { agent: 0, updater: 0 });
  });

  it('a refused upgrade is answered in our error shape and the connection is closed', async () => {
    ctl.context.denylist.add([testSerial('agent', 'h1')]);
    const cases: Array<[string, Record<string, string>, number, string]> = [
      ['/v1/channel/agent', {}, 401, 'SWARM_ERR_AUTH_NO_CLIENT_CERT'],
      ['/v1/channel/agent', as('agent', 'h1'), 403, 'SWARM_ERR_AUTH_REVOKED'],
      ['/v1/channel/agent', as('updater', 'h1'), 403, 'SWARM_ERR_AUTH_FORBIDDEN'],
      ['/v1/channel/agent', as('agent', 'ghost'), 403, 'SWARM_ERR_AUTH_FORBIDDEN'],
      ['/v1/channel/nope', as('agent', 'h1', 'aaaa'), 404, 'SWARM_ERR_NOT_FOUND'],
    ];
    for (const [path, headers, status, code] of cases) {
      const r = await rawUpgrade(app, path, headers);
      assert.equal(r.status, status, path);
      assert.match(r.headers, /^connection: close$/im);
      const body = JSON.parse(r.body) as { code: string; message: string };
      assert.equal(body.code, code);
      assert.ok(body.message.length > 0);
    }
    assert.match((await rawUpgrade(app, '/v1/channel/agent', as('agent', 'ghost'))).body, /host ghost is not an enrolled host/);
  });

  it('never negotiates compression, and closes a channel sending a message past the size limit with 1009', async () => {
    const offer = await rawUpgrade(app, '/v1/channel/agent', { ...as('agent', 'h1'), 'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits' });
    assert.equal(offer.status, 101);
    assert.doesNotMatch(offer.headers, /sec-websocket-extensions/i);

    const ch = await openChannel(app, '/v1/channel/agent', as('agent', 'h1'));
    await ch.next();
    ch.ws.send(JSON.stringify({ type: 'report', report: agentHealth(), certNotAfter: new Date().toISOString(), pad: 'x'.repeat(MAX_CHANNEL_MESSAGE_BYTES) }));
    assert.equal(await ch.closed, 1009);
    assert.equal(ctl.context.reports.get('h1'), undefined);
  });

  it('a plain GET of a channel path is no route, as before channels were routes', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/channel/agent', headers: as('agent', 'h1') });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json<{ code: string }>().code, 'SWARM_ERR_NOT_FOUND');
  });

  it('host removal closes its open channel with 4003 and refuses the reconnect', async () => {
    const ch = await openChannel(app, '/v1/channel/agent', as('agent', 'h1'));
    await ch.next();
    const res = await app.inject({ method: 'DELETE', url: '/v1/hosts/h1', headers: as('operator', 'ops1') });
    assert.equal(res.statusCode, 200);
    assert.equal(await ch.closed, CLOSE_CODES.revoked);
    await assert.rejects(app.injectWS('/v1/channel/agent', { headers: as('agent', 'h1', 'bbbb') }), /Unexpected server response: 403$/);
  });

  it('a newer channel of the same identity replaces the older one', async () => {
    const first = await openChannel(app, '/v1/channel/agent', as('agent', 'h1'));
    await first.next();
    const second = await openChannel(app, '/v1/channel/agent', as('agent', 'h1'));
    await second.next();
    assert.equal(await first.closed, 1000);
    assert.deepEqual(ctl.context.hub.counts(), { agent: 1, updater: 0 });
    second.ws.terminate();
  });

  it('upgrades count in the request metrics: refusals by status, accepted ones as 1xx', async () => {
    (await app.injectWS('/v1/channel/agent', { headers: as('agent', 'h1') })).terminate();
    // Resolves once the refused socket is dropped, which the plugin does after the metrics' onResponse hook.
    assert.equal((await rawUpgrade(app, '/v1/channel/agent', as('updater', 'h1'))).status, 403);
    const metrics = await app.inject({ method: 'GET', url: '/metrics', headers: as('operator', 'ops1') });
    assert.match(metrics.body, /^swarm_http_request_duration_seconds_count\{route="\/v1\/channel\/agent",status="1xx"\} 1$/m);
    assert.match(metrics.body, /^swarm_http_request_duration_seconds_count\{route="\/v1\/channel\/agent",status="4xx"\} 1$/m);
  });
});
