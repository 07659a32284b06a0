// Hardening item 10: servers and clients speak TLS 1.3, or TLS 1.2 with ECDHE and AEAD only; no RSA key exchange, CBC or SHA-1.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect, type ConnectionOptions } from 'node:tls';
import { request } from 'undici';
import { startChannelClient } from '../../controller-client/channel-client.js';
import { buildDispatcher } from '../../shared/dispatcher.js';
import { silentLogger } from '../../shared/logger.js';
import { createHttpsApp } from '../../shared/server.js';
import { joinCluster } from '../../updater/join.js';
import { mintIdentity, tempDir, type TestIdentity } from '../helpers/pki.js';

/** What a raw TLS client with these settings gets from a server: the protocol and suite, or the error. */
function handshake(port: number, options: ConnectionOptions): Promise<{ ok: true; protocol: string | null; cipher: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ...options });
    socket.once('secureConnect', () => {
      resolve({ ok: true, protocol: socket.getProtocol(), cipher: socket.getCipher().name });
      socket.destroy();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, error: err.code ?? err.message }));
  });
}

describe('TLS policy: TLS 1.3, or TLS 1.2 with ECDHE and AEAD', function () {
  this.timeout(30_000);
  let controller: TestIdentity;
  let operator: TestIdentity;

  before(async () => {
    controller = await mintIdentity('controller', 'controller');
    operator = await mintIdentity('operator', 'alice');
  });

  describe('servers (createHttpsApp)', () => {
    let app: FastifyInstance;
    let port: number;
    before(async () => {
      app = await createHttpsApp({ material: controller.material, logger: silentLogger(), clientCert: 'required' });
      app.get('/ping', async () => ({ ok: true }));
      await app.listen({ host: '127.0.0.1', port: 0 });
      port = (app.server.address() as AddressInfo).port;
    });
    after(() => app.close());

    const refused: Array<[string, string]> = [
      ['AES128-SHA', 'RSA key exchange, CBC, SHA-1'],
      ['AES128-GCM-SHA256', 'RSA key exchange (no forward secrecy), even with AEAD'],
      ['AES256-SHA256', 'RSA key exchange, CBC'],
      ['ECDHE-RSA-AES128-SHA', 'ECDHE but CBC with SHA-1'],
      ['ECDHE-RSA-AES256-SHA384', 'ECDHE but CBC'],
      ['DHE-RSA-AES128-GCM-SHA256', 'finite-field DHE'],
    ];
    for (const [ciphers, why] of refused) {
      it(`refuses a TLS 1.2 client offering only ${ciphers} (${why})`, async () => {
        const r = await handshake(port, { ciphers, maxVersion: 'TLSv1.2', ca: controller.ca, cert: operator.cert, key: operator.key, checkServerIdentity: () => undefined });
        assert.equal(r.ok, false, `handshake completed with ${JSON.stringify(r)}`);
      });
    }

    it('accepts TLS 1.2 with ECDHE and AEAD, and TLS 1.3', async () => {
      const base = { ca: controller.ca, cert: operator.cert, key: operator.key, checkServerIdentity: () => undefined };
      assert.deepEqual(await handshake(port, { ...base, ciphers: 'ECDHE-RSA-AES128-GCM-SHA256', maxVersion: 'TLSv1.2' }), { ok: true, protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256' });
      assert.deepEqual(await handshake(port, { ...base, ciphers: 'ECDHE-RSA-CHACHA20-POLY1305', maxVersion: 'TLSv1.2' }), { ok: true, protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-CHACHA20-POLY1305' });
      const r13 = await handshake(port, base);
      assert.equal(r13.ok && r13.protocol, 'TLSv1.3');
    });

    it('still serves our own client (buildDispatcher)', async () => {
      const d = buildDispatcher(operator.material, { expect: { role: 'controller' } });
      try {
        const res = await request(`https://127.0.0.1:${port}/ping`, { dispatcher: d });
        assert.equal(res.statusCode, 200);
        await res.body.text();
      } finally {
        await d.close();
      }
    });
  });

  describe('clients refuse a server that offers only weak suites', () => {
    let weak: HttpsServer;
    let port: number;
    let handshakes = 0;
    before(async () => {
      // A server with a real controller identity of our cluster, which would pass every other check.
      weak = createHttpsServer({ key: controller.key, cert: controller.cert, ca: controller.ca, requestCert: true, rejectUnauthorized: false, ciphers: 'AES128-SHA:ECDHE-RSA-AES128-SHA', maxVersion: 'TLSv1.2' }, (_req, res) => {
        res.end('-----BEGIN CERTIFICATE-----\n');
      });
      weak.on('secureConnection', () => handshakes++);
      await new Promise<void>((resolve) => weak.listen(0, '127.0.0.1', resolve));
      port = (weak.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((resolve) => weak.close(() => resolve())));
    beforeEach(() => {
      handshakes = 0;
    });

    it('the undici dispatcher (swarmctl, probes, renewal)', async () => {
      const d = buildDispatcher(operator.material, { expect: { role: 'controller' }, connectTimeoutMs: 5_000 });
      try {
        await assert.rejects(request(`https://127.0.0.1:${port}/v1/hosts`, { dispatcher: d }));
      } finally {
        await d.close();
      }
      assert.equal(handshakes, 0);
    });

    it('the channel client', async () => {
      const agent = await mintIdentity('agent', 'h1');
      let client: ReturnType<typeof startChannelClient> | undefined;
      const err = await new Promise<Error>((resolve) => {
        client = startChannelClient({
          controllerUrl: `https://127.0.0.1:${port}`, role: 'agent', material: () => agent.material, report: () => ({}), logger: silentLogger(),
          backoffBaseMs: 60_000, backoffCapMs: 60_000,
          onConnectError: resolve,
        });
      });
      await client?.close();
      assert.ok(err instanceof Error);
      assert.equal(handshakes, 0);
    });

    it('swarm-updater join (the CA fetch already)', async () => {
      const dir = await tempDir('swarm-join-');
      try {
        await assert.rejects(joinCluster({ controllerUrl: `https://127.0.0.1:${port}`, token: `h1.${'a'.repeat(43)}`, caHash: `sha256:${'0'.repeat(64)}`, pkiDir: dir.path }));
      } finally {
        await dir.cleanup();
      }
      assert.equal(handshakes, 0);
    });
  });
});
