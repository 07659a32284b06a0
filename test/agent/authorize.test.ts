// Who may call the agent: the pure table, then the same matrix over real mutual TLS.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { authorizeAgentRoute } from '../../agent/authorize.js';
import { buildAgentApp, type AgentView } from '../../agent/app.js';
import { AgentStatusSchema } from '../../agent/status-schema.js';
import { silentLogger } from '../../shared/logger.js';
import { AgentHealthSchema } from '../../shared/wire.js';
import { CertificateAuthority, createCa } from '../../pki/index.js';
import { mintIdentity, type TestIdentity } from '../helpers/pki.js';
import { clientFor, getJson } from './helpers.js';

const self = { cluster: 'test', role: 'agent', name: 'h1' } as const;

describe('agent authorization table', () => {
  const cases: [string, { cluster: string; role: 'controller' | 'updater' | 'agent' | 'operator'; name: string }, boolean, boolean][] = [
    ['the controller', { cluster: 'test', role: 'controller', name: 'controller' }, true, true],
    ['the updater of the same host', { cluster: 'test', role: 'updater', name: 'h1' }, true, false],
    ['the updater of another host', { cluster: 'test', role: 'updater', name: 'h2' }, false, false],
    ['the agent itself', { cluster: 'test', role: 'agent', name: 'h1' }, false, false],
    ['an operator', { cluster: 'test', role: 'operator', name: 'admin' }, false, false],
    ['a controller of another cluster', { cluster: 'other', role: 'controller', name: 'controller' }, false, false],
    ['the same-named updater of another cluster', { cluster: 'other', role: 'updater', name: 'h1' }, false, false],
  ];
  for (const [who, caller, health, status] of cases) {
    it(`${who}: health ${health ? 'allowed' : 'refused'}, status ${status ? 'allowed' : 'refused'}`, () => {
      assert.equal(authorizeAgentRoute(self, caller, '/v1/health'), health);
      assert.equal(authorizeAgentRoute(self, caller, '/v1/status'), status);
      assert.equal(authorizeAgentRoute(self, caller, '/v1/other'), false);
    });
  }
});

describe('agent routes over mutual TLS', () => {
  let app: FastifyInstance;
  let base: string;
  const ids: Record<string, TestIdentity> = {};
  const view: AgentView = {
    health: () => ({ status: 'ok', release: 'unknown', version: 'unknown', pid: process.pid, startedAt: new Date(0).toISOString(), services: [] }),
    status: () => ({
      status: 'ok', release: 'unknown', version: 'unknown', pid: process.pid, startedAt: new Date(0).toISOString(), services: [],
      identity: 'spiffe://test/agent/h1', tls: { serial: '01', notAfter: new Date(0).toISOString() },
      policy: { crashLimit: 5, crashWindowMs: 1, stableMs: 1, backoffBaseMs: 1, backoffCapMs: 1, stopGraceMs: 1 }, details: [],
    }),
  };

  before(async () => {
    const foreign = await CertificateAuthority.load(await createCa({ cluster: 'test' }));
    ids.agent = await mintIdentity('agent', 'h1');
    ids.controller = await mintIdentity('controller', 'controller');
    ids.updaterSame = await mintIdentity('updater', 'h1');
    ids.updaterOther = await mintIdentity('updater', 'h2');
    ids.operator = await mintIdentity('operator', 'admin');
    ids.foreign = await mintIdentity('controller', 'controller', { issuer: foreign });
    app = await buildAgentApp({ material: ids.agent.material, view, logger: silentLogger() });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `https://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await app?.close();
  });

  async function call(who: string, path: string): Promise<number> {
    const d = clientFor(ids[who]!);
    try {
      return (await getJson(`${base}${path}`, d)).status;
    } finally {
      await d.close();
    }
  }

  it('serves health to the updater of the same host and to the controller, in the wire shape', async () => {
    for (const who of ['updaterSame', 'controller']) {
      const d = clientFor(ids[who]!);
      const res = await getJson(`${base}/v1/health`, d);
      await d.close();
      assert.equal(res.status, 200, who);
      AgentHealthSchema.parse(res.body);
    }
  });

  it('refuses health to the updater of another host, an agent and an operator (403)', async () => {
    for (const who of ['updaterOther', 'agent', 'operator']) assert.equal(await call(who, '/v1/health'), 403, who);
    const d = clientFor(ids.operator!);
    const res = await getJson(`${base}/v1/health`, d);
    await d.close();
    assert.equal(res.body.code, 'SWARM_ERR_AUTH_FORBIDDEN');
  });

  it('serves status to the controller only', async () => {
    const d = clientFor(ids.controller!);
    const res = await getJson(`${base}/v1/status`, d);
    await d.close();
    assert.equal(res.status, 200);
    AgentStatusSchema.parse(res.body);
    for (const who of ['updaterSame', 'updaterOther', 'agent', 'operator']) assert.equal(await call(who, '/v1/status'), 403, who);
  });

  it('refuses a foreign-CA certificate and no certificate at the handshake', async () => {
    // both trust the agent's CA, so only the server's refusal of the client can fail them
    const foreign = new Agent({ connect: { ca: ids.agent!.ca, cert: ids.foreign!.cert, key: ids.foreign!.key, rejectUnauthorized: true, checkServerIdentity: () => undefined } });
    const anonymous = new Agent({ connect: { ca: ids.agent!.ca, rejectUnauthorized: true, checkServerIdentity: () => undefined } });
    const trusted = new Agent({ connect: { ca: ids.agent!.ca, cert: ids.controller!.cert, key: ids.controller!.key, rejectUnauthorized: true, checkServerIdentity: () => undefined } });
    try {
      assert.equal((await getJson(`${base}/v1/health`, trusted)).status, 200, 'the same client setup with a cluster certificate is served');
      await assert.rejects(getJson(`${base}/v1/health`, foreign));
      await assert.rejects(getJson(`${base}/v1/health`, anonymous));
    } finally {
      await Promise.all([foreign.close(), anonymous.close(), trusted.close()]);
    }
  });

  it('rate-limits a flooding client per identity while the updater is still served', async () => {
    const limited = await buildAgentApp({ material: ids.agent!.material, view, logger: silentLogger(), limits: { ratePerSecond: 5 } });
    await limited.listen({ host: '127.0.0.1', port: 0 });
    const url = `https://127.0.0.1:${(limited.server.address() as AddressInfo).port}/v1/health`;
    const flooder = clientFor(ids.controller!);
    const probe = clientFor(ids.updaterSame!);
    try {
      const codes = await Promise.all(Array.from({ length: 20 }, () => getJson(url, flooder)));
      assert.equal(codes.filter((r) => r.status === 200).length, 5);
      const refused = codes.find((r) => r.status === 429)!;
      assert.equal(refused.body.code, 'SWARM_ERR_RATE_LIMITED');
      assert.equal((await getJson(url, probe)).status, 200, 'another identity is not starved');
    } finally {
      await Promise.all([flooder.close(), probe.close()]);
      await limited.close();
    }
  });
});
