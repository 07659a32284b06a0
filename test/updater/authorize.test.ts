// Who may call the updater: the pure table, and the same matrix over real mTLS against the running bin.
import assert from 'node:assert/strict';
import { Agent, request, type Dispatcher } from 'undici';
import { createCa } from '../../pki/index.js';
import { CertificateAuthority } from '../../pki/index.js';
import type { Identity } from '../../shared/identity.js';
import { authorizeUpdaterRoute, UPDATER_ROUTE_ROLES } from '../../updater/authorize.js';
import { mintIdentity, type TestIdentity } from '../helpers/pki.js';
import { makeHost, startUpdater, updaterClient, type RunningUpdater, type TestHost } from './helpers/host.js';

const id = (role: Identity['role'], name = 'x'): Identity => ({ cluster: 'test', role, name });

describe('updater authorization table', () => {
  it('lets the controller call every route and the operator only GET /v1/health', () => {
    for (const key of Object.keys(UPDATER_ROUTE_ROLES)) {
      const [method, url] = key.split(' ') as [string, string];
      assert.equal(authorizeUpdaterRoute(id('controller', 'controller'), method, url), true, key);
      assert.equal(authorizeUpdaterRoute(id('operator', 'alice'), method, url), key === 'GET /v1/health', key);
      assert.equal(authorizeUpdaterRoute(id('agent', 'h1'), method, url), false, key);
      assert.equal(authorizeUpdaterRoute(id('updater', 'h2'), method, url), false, key);
    }
  });

  it('refuses unknown routes and methods', () => {
    assert.equal(authorizeUpdaterRoute(id('controller'), 'DELETE', '/v1/update'), false);
    assert.equal(authorizeUpdaterRoute(id('controller'), 'GET', undefined), false);
    assert.equal(authorizeUpdaterRoute(id('controller'), 'GET', '/v1/status'), false);
  });
});

describe('updater authorization over mTLS (controller, operator, agent, another updater, foreign CA, no cert)', function () {
  this.timeout(60_000);
  let host: TestHost;
  let updater: RunningUpdater;
  const clients: Record<string, Dispatcher> = {};

  before(async () => {
    host = await makeHost();
    updater = await startUpdater(host);
    const foreignCa = CertificateAuthority.load(await createCa({ cluster: 'test' }));
    const ids: Record<string, TestIdentity> = {
      controller: await mintIdentity('controller', 'controller'),
      operator: await mintIdentity('operator', 'alice'),
      agent: await mintIdentity('agent', 'h1'),
      otherUpdater: await mintIdentity('updater', 'h2'),
      foreign: await mintIdentity('controller', 'controller', { issuer: foreignCa }),
    };
    for (const [name, ident] of Object.entries(ids)) {
      // The foreign client trusts our CA for the server but presents a certificate from another CA.
      clients[name] = name === 'foreign'
        ? new Agent({ connect: { ca: ids.controller!.ca, cert: ident.cert, key: ident.key, checkServerIdentity: () => undefined } })
        : (await updaterClient(ident)).dispatcher;
    }
    clients.noCert = new Agent({ connect: { ca: ids.controller!.ca, checkServerIdentity: () => undefined } });
  });

  after(async () => {
    for (const d of Object.values(clients)) await d.close();
    await updater?.stop();
    await host?.cleanup();
  });

  const ROUTES: Array<[('GET' | 'POST' | 'DELETE'), string]> = [
    ['POST', '/v1/update'], ['POST', '/v1/rollback'], ['POST', '/v1/self-update'], ['GET', '/v1/releases'], ['DELETE', `/v1/releases/${'a'.repeat(64)}/bad`],
    ['GET', '/v1/operations/latest'], ['GET', '/v1/operations/op-1'], ['GET', '/v1/health'],
  ];

  async function statusOf(who: string, method: 'GET' | 'POST' | 'DELETE', path: string): Promise<number | 'refused'> {
    try {
      const res = await request(`https://127.0.0.1:${updater.port}${path}`, { method, dispatcher: clients[who]!, signal: AbortSignal.timeout(5_000) });
      await res.body.text();
      return res.statusCode;
    } catch {
      return 'refused';
    }
  }

  it('answers the controller on every route (no 401/403)', async () => {
    for (const [method, path] of ROUTES) {
      const s = await statusOf('controller', method, path);
      assert.ok(typeof s === 'number' && s !== 401 && s !== 403, `${method} ${path}: ${s}`);
    }
  });

  it('gives the operator /v1/health only', async () => {
    for (const [method, path] of ROUTES) {
      const s = await statusOf('operator', method, path);
      if (path === '/v1/health') assert.equal(s, 200);
      else assert.equal(s, 403, `${method} ${path}`);
    }
  });

  it('refuses the agent and another host\'s updater with 403 everywhere', async () => {
    for (const who of ['agent', 'otherUpdater']) {
      for (const [method, path] of ROUTES) assert.equal(await statusOf(who, method, path), 403, `${who} ${method} ${path}`);
    }
  });

  it('refuses a foreign CA and a client without a certificate at the handshake', async () => {
    for (const who of ['foreign', 'noCert']) {
      for (const [method, path] of ROUTES) assert.equal(await statusOf(who, method, path), 'refused', `${who} ${method} ${path}`);
    }
  });
});
