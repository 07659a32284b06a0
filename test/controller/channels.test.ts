// Channel liveness: clients reconnect by themselves after a controller restart; the controller drops peers that stop answering pings.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startChannelClient } from '../../controller-client/channel-client.js';
import { silentLogger } from '../../shared/logger.js';
import { checkServerIdentity } from '../../shared/tls.js';
import { mintIdentity } from '../helpers/pki.js';
import { agentHealth, call, clientFor, enrollDirectly, startInProcessController, waitFor } from './helpers.js';

describe('channel liveness (in-process controller, real TLS)', () => {
  it('a client reconnects with backoff after the controller restarts, and reports to the new one', async () => {
    const agent = await mintIdentity('agent', 'rc1');
    let ctl = await startInProcessController({ heartbeatMs: 200 });
    const port = Number(new URL(ctl.url).port);
    await enrollDirectly(ctl.store, 'rc1');
    const events: string[] = [];
    let onEvent: () => void = () => undefined;
    const client = startChannelClient({
      controllerUrl: ctl.url, role: 'agent', material: () => agent.material, report: () => agentHealth('d'.repeat(64)), logger: silentLogger(),
      backoffBaseMs: 50, backoffCapMs: 200,
      onConnect: () => (events.push('connect'), onEvent()),
      onDisconnect: () => (events.push('disconnect'), onEvent()),
    });
    const until = (n: number, what: string): Promise<void> => new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${what}: ${events.join(',')}`)), 10_000);
      onEvent = () => {
        if (events.length >= n) {
          clearTimeout(t);
          resolve();
        }
      };
      onEvent();
    });
    try {
      await until(1, 'first connect');
      await ctl.close();
      await until(2, 'disconnect');
      assert.equal(client.connected, false);
      ctl = await startInProcessController({ heartbeatMs: 200 }, port);
      await enrollDirectly(ctl.store, 'rc1');
      await until(3, 'reconnect');
      assert.deepEqual(events, ['connect', 'disconnect', 'connect']);
      await waitFor('report at the new controller', async () => (ctl.context.reports.get('rc1')?.agent ? true : undefined));
    } finally {
      await client.close();
      await ctl.close();
    }
  });

  it('the controller terminates a channel whose peer stops answering pings', async () => {
    const agent = await mintIdentity('agent', 'dead1');
    const ctl = await startInProcessController({ heartbeatMs: 200, pingIntervalMs: 200 });
    await enrollDirectly(ctl.store, 'dead1');
    try {
      const ws = new WebSocket(`${ctl.url.replace('https', 'wss')}/v1/channel/agent`, {
        ca: agent.ca, cert: agent.cert, key: agent.key, autoPong: false,
        checkServerIdentity: (_h: string, cert: never) => checkServerIdentity(cert, 'test', { role: 'controller' }),
      } as unknown as WebSocket.ClientOptions);
      await new Promise((resolve) => ws.once('message', resolve));
      assert.equal(ctl.context.hub.counts().agent, 1);
      const started = Date.now();
      await new Promise((resolve) => ws.once('close', resolve));
      assert.ok(Date.now() - started < 2_000, 'dropped within a few ping intervals');
      assert.equal(ctl.context.hub.counts().agent, 0);
    } finally {
      await ctl.close();
    }
  });
});

describe('revocation of a live channel (in-process controller, real TLS)', () => {
  it('closes the channel within 1 s of the DELETE response and refuses the reconnect', async () => {
    const agent = await mintIdentity('agent', 'rv1', { freshKey: true });
    const op = await mintIdentity('operator', 'ops');
    const ctl = await startInProcessController({ heartbeatMs: 200 });
    await enrollDirectly(ctl.store, 'rv1');
    await ctl.store.recordCertificate({ serial: agent.serial, role: 'agent', name: 'rv1', notBefore: 0, notAfter: agent.material.notAfter, issuedAt: Date.now() });
    let connected: () => void = () => undefined;
    let closedAt = 0;
    let closeCode = 0;
    let refused: Error | undefined;
    const up = new Promise<void>((r) => (connected = r));
    let client: ReturnType<typeof startChannelClient> | undefined;
    const closed = new Promise<void>((resolve) => {
      client = startChannelClient({
        controllerUrl: ctl.url, role: 'agent', material: () => agent.material, report: () => agentHealth(), logger: silentLogger(),
        backoffBaseMs: 20, backoffCapMs: 50,
        onConnect: () => connected(),
        onDisconnect: (info) => {
          closedAt = Date.now();
          closeCode = info.code;
          resolve();
        },
        onConnectError: (err) => {
          refused ??= err;
        },
      });
    });
    try {
      await up;
      const d = clientFor(agent.ca, op.material);
      const res = await call(d, `${ctl.url}/v1/hosts/rv1`, 'DELETE');
      const answeredAt = Date.now();
      assert.equal(res.status, 200);
      await closed;
      assert.ok(closedAt - answeredAt < 1000, `closed ${closedAt - answeredAt} ms after the response`);
      assert.equal(closeCode, 4003);
      await waitFor('reconnect refused', async () => refused, 5_000);
      assert.match(refused!.message, /403/);
      await d.close();
    } finally {
      await client?.close();
      await ctl.close();
    }
  });
});
