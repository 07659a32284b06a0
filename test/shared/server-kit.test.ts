// The server kit: the bound address reported, a live TLS identity swap on a real socket, and signal trapping on a seam.
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { connect } from 'node:tls';
import Fastify from 'fastify';
import { silentLogger } from '../../shared/logger.js';
import { createHttpsApp } from '../../shared/server.js';
import { describeAddress, listenApp, swapTlsIdentity, tlsServerOf, trapSignals, type SignalSource } from '../../shared/server-kit.js';
import { mintIdentity, type TestIdentity } from '../helpers/pki.js';

/** The serial of the certificate a new TLS connection is served. */
async function servedSerial(port: number, client: TestIdentity): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port, ca: client.ca, cert: client.cert, key: client.key, checkServerIdentity: () => undefined });
  try {
    await once(socket, 'secureConnect');
    return socket.getPeerX509Certificate()!.serialNumber.toLowerCase();
  } finally {
    socket.destroy();
  }
}

/** An emitter standing in for the process: signals are emitted by the test. */
function fakeProcess(): EventEmitter & SignalSource {
  return new EventEmitter() as EventEmitter & SignalSource;
}

describe('shared/server-kit', function () {
  this.timeout(20_000);

  it('listens on port 0, reports the port bound, and swaps the served identity for new handshakes', async () => {
    const first = await mintIdentity('updater', 'h1');
    const second = await mintIdentity('updater', 'h1', { freshKey: true });
    const client = await mintIdentity('controller', 'controller');
    const app = await createHttpsApp({ material: first.material, logger: silentLogger() });
    try {
      const bound = await listenApp(app, { host: '127.0.0.1', port: 0 });
      assert.ok(bound.port > 0);
      assert.equal(bound.url, `https://127.0.0.1:${bound.port}`);
      assert.equal(await servedSerial(bound.port, client), first.serial);
      swapTlsIdentity(app, second.material, { clientCert: 'required' });
      assert.equal(await servedSerial(bound.port, client), second.serial);
    } finally {
      await app.close();
    }
  });

  it('a route with a JSON schema is refused when registered: inputs are parsed with zod, so fastify needs no ajv', async () => {
    const id = await mintIdentity('updater', 'h1');
    const app = await createHttpsApp({ material: id.material, logger: silentLogger() });
    try {
      app.post('/x', { schema: { body: { type: 'object' } } }, async () => ({}));
      await assert.rejects(async () => { await app.ready(); }, /a route \/x declares a JSON schema: Swarm parses every input with zod/);
    } finally {
      await app.close().catch(() => undefined);
    }
  });

  it('tlsServerOf refuses an app that does not serve TLS; IPv6 URLs carry brackets', async () => {
    const plain = Fastify();
    assert.throws(() => tlsServerOf(plain), TypeError);
    await plain.close();
    assert.equal(describeAddress({ address: '::1', family: 'IPv6', port: 8770 }).url, 'https://[::1]:8770');
    assert.equal(describeAddress({ address: '::1', family: 'IPv6', port: 8770 }).host, '::1');
  });

  it('trapSignals: the first stop signal resolves, repeats are absorbed, other handlers are replaceable', async () => {
    const source = fakeProcess();
    const hups: string[] = [];
    const trap = trapSignals({ source, handlers: { SIGHUP: () => hups.push('early') } });
    source.emit('SIGHUP', 'SIGHUP');
    trap.handle('SIGHUP', () => hups.push('reload'));
    source.emit('SIGHUP', 'SIGHUP');
    assert.deepEqual(hups, ['early', 'reload']);
    source.emit('SIGINT', 'SIGINT');
    source.emit('SIGTERM', 'SIGTERM');
    assert.equal(await trap.stopped, 'SIGINT');
    assert.equal(source.listenerCount('SIGTERM'), 1, 'still listening: a repeated signal cannot kill a stopping process');
    trap.dispose();
    for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) assert.equal(source.listenerCount(s), 0, s);
  });

  it("trapSignals with afterStop 'default' lets a second signal take its default action", async () => {
    const source = fakeProcess();
    const trap = trapSignals({ source, afterStop: 'default' });
    source.emit('SIGTERM', 'SIGTERM');
    assert.equal(await trap.stopped, 'SIGTERM');
    assert.equal(source.listenerCount('SIGTERM') + source.listenerCount('SIGINT'), 0);
  });
});
