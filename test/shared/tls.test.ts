// Real TLS handshakes: a fastify server from createHttpsApp, undici clients from buildDispatcher.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { connect } from 'node:tls';
import { once } from 'node:events';
import { request, type Dispatcher } from 'undici';
import { createCrl, createCa, CertificateAuthority } from '../../pki/index.js';
import { identityGuard } from '../../shared/http.js';
import { silentLogger } from '../../shared/logger.js';
import { createHttpsApp } from '../../shared/server.js';
import { type ServerExpectation, type TlsMaterial } from '../../shared/tls.js';
import { buildDispatcher } from '../../shared/dispatcher.js';
import { mintIdentity, mintWithoutEku, testCa, type TestIdentity } from '../helpers/pki.js';

const DAY = 86_400_000;

/** The same client identity, trusting the server's CA (a client of a foreign CA still wants to reach our server). */
function trusting(id: TestIdentity, ca: string): TestIdentity {
  return { ...id, ca, material: { ...id.material, ca } };
}

interface Server {
  app: FastifyInstance;
  url: string;
}

/** A controller-like server whose /v1/hosts only operators may call. */
async function startServer(material: TlsMaterial, options: { clientCert: 'required' | 'optional'; revoked?: Set<string>; crl?: string; ca?: string }): Promise<Server> {
  const app = await createHttpsApp({
    material: options.ca ? { ...material, ca: options.ca } : material,
    logger: silentLogger(),
    clientCert: options.clientCert,
    ...(options.crl ? { crl: options.crl } : {}),
  });
  await app.register(async (scope) => {
    scope.addHook('onRequest', identityGuard({ cluster: 'test', authorize: (id) => id.role === 'operator', isRevoked: (s) => options.revoked?.has(s) ?? false }));
    scope.get('/v1/hosts', async (req) => ({ caller: req.peer?.identity }));
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  return { app, url: `https://127.0.0.1:${addr.port}` };
}

async function call(server: Server, client: TestIdentity, expect: ServerExpectation = { role: 'controller' }): Promise<{ status: number; body: { code?: string; caller?: { name: string } } }> {
  const dispatcher: Dispatcher = buildDispatcher(client.material, { expect });
  try {
    const res = await request(`${server.url}/v1/hosts`, { dispatcher });
    return { status: res.statusCode, body: (await res.body.json()) as { code?: string } };
  } finally {
    await dispatcher.close();
  }
}

/** A plain TLS client without a certificate (undici with only the CA). */
async function callWithoutCert(server: Server, ca: string): Promise<{ status: number; body: { code?: string } }> {
  const { Agent } = await import('undici');
  const dispatcher = new Agent({ connect: { ca, checkServerIdentity: () => undefined } });
  try {
    const res = await request(`${server.url}/v1/hosts`, { dispatcher });
    return { status: res.statusCode, body: (await res.body.json()) as { code?: string } };
  } finally {
    await dispatcher.close();
  }
}

describe('TLS helpers: mutual TLS handshakes', function () {
  this.timeout(60_000);
  let controller: TestIdentity;
  let operator: TestIdentity;
  let foreignCa: CertificateAuthority;
  const servers: Server[] = [];

  before(async () => {
    controller = await mintIdentity('controller', 'controller');
    operator = await mintIdentity('operator', 'alice');
    foreignCa = CertificateAuthority.load(await createCa({ cluster: 'test' }));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.app.close()));
  });

  async function server(options: Parameters<typeof startServer>[1]): Promise<Server> {
    const s = await startServer(controller.material, options);
    servers.push(s);
    return s;
  }

  for (const mode of ['required', 'optional'] as const) {
    describe(`client certificate ${mode}`, () => {
      let s: Server;
      before(async () => {
        s = await server({ clientCert: mode });
      });

      it('accepts a valid identity of the right role', async () => {
        const res = await call(s, operator);
        assert.equal(res.status, 200);
        assert.equal(res.body.caller?.name, 'alice');
      });

      it('refuses a valid identity of the wrong role (403)', async () => {
        const res = await call(s, await mintIdentity('agent', 'h1'));
        assert.equal(res.status, 403);
        assert.equal(res.body.code, 'SWARM_ERR_AUTH_FORBIDDEN');
      });

      const refusals: Array<[string, () => Promise<TestIdentity>]> = [
        ['a foreign CA', async () => trusting(await mintIdentity('operator', 'alice', { issuer: foreignCa }), controller.ca)],
        ['an expired certificate', () => mintIdentity('operator', 'alice', { now: Date.now() - 30 * DAY, lifetimeMs: DAY })],
        ['a not-yet-valid certificate', () => mintIdentity('operator', 'alice', { now: Date.now() + DAY })],
        ['a certificate without clientAuth EKU', () => mintIdentity('operator', 'alice', { extKeyUsage: { serverAuth: true, clientAuth: false } })],
      ];
      for (const [what, make] of refusals) {
        it(`refuses ${what}`, async () => {
          const client = await make();
          if (mode === 'required') {
            await assert.rejects(call(s, client));
          } else {
            const res = await call(s, client);
            assert.equal(res.status, 401);
            assert.equal(res.body.code, 'SWARM_ERR_AUTH_NO_CLIENT_CERT');
            if (what === 'an expired certificate') assert.match((res.body as { message?: string }).message ?? '', /expired; renew it/);
          }
        });
      }

      it('refuses a client certificate without any EKU extension (OpenSSL lets it through the handshake): 401', async () => {
        // OpenSSL takes a certificate without an EKU extension as good for every purpose; getPeer must not.
        const res = await call(s, await mintWithoutEku('operator', 'alice'));
        assert.equal(res.status, 401);
        assert.equal(res.body.code, 'SWARM_ERR_AUTH_NO_CLIENT_CERT');
      });

      it('refuses a connection without a certificate', async () => {
        if (mode === 'required') {
          await assert.rejects(callWithoutCert(s, controller.ca));
        } else {
          const res = await callWithoutCert(s, controller.ca);
          assert.equal(res.status, 401);
          assert.equal(res.body.code, 'SWARM_ERR_AUTH_NO_CLIENT_CERT');
        }
      });
    });
  }

  it('refuses another cluster\'s identity even when its CA is trusted too', async () => {
    const otherCa = await testCa('other');
    const s = await server({ clientCert: 'required', ca: controller.ca + otherCa.certPem });
    const res = await call(s, trusting(await mintIdentity('operator', 'alice', { cluster: 'other' }), controller.ca), { role: 'controller', cluster: 'test' });
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'SWARM_ERR_AUTH_NO_CLIENT_CERT');
  });

  it('refuses a revoked serial through the per-request denylist (403)', async () => {
    const revokedOp = await mintIdentity('operator', 'mallory');
    const s = await server({ clientCert: 'required', revoked: new Set([revokedOp.serial]) });
    const res = await call(s, revokedOp);
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'SWARM_ERR_AUTH_REVOKED');
    assert.equal((await call(s, operator)).status, 200, 'other operators still served');
  });

  it('refuses a revoked serial at the handshake when the CRL is loaded', async () => {
    const revokedOp = await mintIdentity('operator', 'mallory');
    const ca = await testCa('test');
    const crl = await createCrl(ca, [{ serial: revokedOp.serial, revokedAt: Date.now() }], { number: 1 });
    const s = await server({ clientCert: 'required', crl });
    await assert.rejects(call(s, revokedOp));
    assert.equal((await call(s, operator)).status, 200, 'unrevoked identities pass the CRL check');
  });

  it('client refuses a server that is not the expected role or name', async () => {
    const s = await server({ clientCert: 'required' });
    await assert.rejects(call(s, operator, { role: 'updater' }), /expected a updater/);
    await assert.rejects(call(s, operator, { role: 'controller', name: 'other' }), /expected controller\/other/);
  });

  it('client refuses a server whose certificate comes from a foreign CA', async () => {
    const fake = await mintIdentity('controller', 'controller', { issuer: foreignCa });
    const s = await startServer({ ...fake.material, ca: controller.ca }, { clientCert: 'required' });
    servers.push(s);
    await assert.rejects(call(s, operator));
  });

  it('client refuses a server certificate without any EKU extension (no serverAuth), though our CA signed it', async () => {
    const noEku = await mintWithoutEku('controller', 'controller');
    const s = await startServer(noEku.material, { clientCert: 'required' });
    servers.push(s);
    await assert.rejects(call(s, operator), /serverAuth/);
  });

  it('refuses TLS 1.2 renegotiation, so a connection cannot swap its verified certificate', async () => {
    const s = await server({ clientCert: 'required' });
    const socket = connect({
      host: '127.0.0.1', port: Number(new URL(s.url).port), ca: controller.ca, cert: operator.cert, key: operator.key,
      maxVersion: 'TLSv1.2', checkServerIdentity: () => undefined,
    });
    await once(socket, 'secureConnect');
    socket.on('error', () => undefined);
    const refused = await new Promise<boolean>((resolve) => {
      const started = socket.renegotiate({ rejectUnauthorized: true, requestCert: true }, (err) => resolve(err !== null && err !== undefined));
      if (!started) resolve(true);
      socket.once('close', () => resolve(true));
    });
    socket.destroy();
    assert.equal(refused, true);
  });
});
