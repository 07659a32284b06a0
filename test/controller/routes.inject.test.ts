// Operator routes driven with app.inject() through the peer-resolver seam: no TLS, no process (the real-TLS tests stay).
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { enrollDirectly } from './helpers.js';
import { as, buildInjectController, headerPeerResolver, testSerial, TEST_PEER_HEADER, type InjectController } from './inject.js';

type Body = Record<string, unknown> & { code?: string; message?: string };

async function send(app: FastifyInstance, method: string, url: string, headers: Record<string, string>, payload?: unknown): Promise<{ status: number; body: Body & Body[] }> {
  const res = await app.inject({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
  return { status: res.statusCode, body: res.json() };
}

const OPS = as('operator', 'ops1');

describe('test peer resolver (pure)', () => {
  const resolve = headerPeerResolver('test');
  const req = (value?: string) => ({ headers: value === undefined ? {} : { [TEST_PEER_HEADER]: value } }) as never;

  it('reads role/name, with the serial given or a stable one', () => {
    assert.deepEqual(resolve(req('agent/h1')), { identity: { cluster: 'test', role: 'agent', name: 'h1' }, serial: testSerial('agent', 'h1') });
    assert.equal(resolve(req('agent/h1;abc123'))?.serial, 'abc123');
    assert.match(testSerial('agent', 'h1'), /^[0-9a-f]{32}$/);
  });

  it('resolves nobody without the header or with a malformed identity', () => {
    for (const v of [undefined, '', 'agent', 'king/h1', 'agent/H1', 'agent/h1/x']) assert.equal(resolve(req(v)), undefined, String(v));
  });
});

describe('controller routes (app.inject, test peer resolver)', () => {
  let ctl: InjectController;
  let app: FastifyInstance;
  beforeEach(async () => {
    ctl = await buildInjectController();
    app = ctl.app;
  });
  afterEach(async () => ctl?.close());

  describe('authorization matrix', () => {
    const OPERATOR_ROUTES: Array<[string, string, unknown?]> = [
      ['GET', '/v1/hosts'], ['POST', '/v1/hosts', { name: 'x1' }], ['GET', '/v1/hosts/h1'], ['DELETE', '/v1/hosts/h1'],
      ['PATCH', '/v1/hosts/h1/labels', { set: { a: 'b' } }], ['PATCH', '/v1/hosts/h1/address', { address: null }],
      ['GET', '/v1/tokens'], ['DELETE', '/v1/tokens/h1'], ['GET', '/v1/status'], ['GET', '/v1/certificates'], ['GET', '/v1/audit'],
      ['POST', '/v1/operators', { name: 'x', csr: 'x' }], ['DELETE', '/v1/operators/x'],
    ];
    beforeEach(async () => enrollDirectly(ctl.store, 'h1'));

    it('agents, updaters and the controller are refused every operator route (403), and nothing changes', async () => {
      for (const who of [as('agent', 'h1'), as('updater', 'h1'), as('controller', 'controller')]) {
        for (const [method, url, body] of OPERATOR_ROUTES) {
          const r = await send(app, method, url, who, body);
          assert.equal(r.status, 403, `${who[TEST_PEER_HEADER]} ${method} ${url}`);
          assert.equal(r.body.code, 'SWARM_ERR_AUTH_FORBIDDEN');
        }
      }
      assert.equal((await ctl.store.getHost('h1'))?.removedAt, null, 'nothing was removed');
      assert.equal(await ctl.store.getHost('x1'), undefined, 'nothing was added');
    });

    it('a request without an identity is refused (401), a revoked operator too (403)', async () => {
      ctl.context.denylist.add([testSerial('operator', 'gone')]);
      for (const [method, url, body] of OPERATOR_ROUTES) {
        const anonymous = await send(app, method, url, {}, body);
        assert.equal(anonymous.status, 401, `${method} ${url}`);
        assert.equal(anonymous.body.code, 'SWARM_ERR_AUTH_NO_CLIENT_CERT');
        const revoked = await send(app, method, url, as('operator', 'gone'), body);
        assert.equal(revoked.status, 403, `${method} ${url}`);
        assert.equal(revoked.body.code, 'SWARM_ERR_AUTH_REVOKED');
      }
    });

    it('metrics are for operators and the controller only', async () => {
      for (const [who, status] of [[OPS, 200], [as('controller', 'controller'), 200], [as('agent', 'h1'), 403], [as('updater', 'h1'), 403], [{}, 401]] as const) {
        const res = await app.inject({ method: 'GET', url: '/metrics', headers: who });
        assert.equal(res.statusCode, status, JSON.stringify(who));
      }
      const res = await app.inject({ method: 'GET', url: '/metrics', headers: OPS });
      assert.match(res.body, /^swarm_hosts 1$/m);
      assert.match(res.body, /^swarm_http_request_duration_seconds_count\{route="\/metrics",status="4xx"\} 3$/m);
      // Rollouts: by state (none yet), hosts settled by outcome, push durations.
      assert.match(res.body, /^swarm_rollouts\{state="rolling"\} 0$/m);
      assert.match(res.body, /^swarm_rollout_hosts_total\{outcome="succeeded"\} 0$/m);
      ctl.context.metrics.observePush('succeeded', 12);
      ctl.context.metrics.observePush('rolled-back', 40);
      const after = (await app.inject({ method: 'GET', url: '/metrics', headers: OPS })).body;
      assert.match(after, /^swarm_rollout_hosts_total\{outcome="succeeded"\} 1$/m);
      assert.match(after, /^swarm_rollout_push_duration_seconds_bucket\{outcome="rolled-back",le="30"\} 0$/m);
      assert.match(after, /^swarm_rollout_push_duration_seconds_bucket\{outcome="rolled-back",le="60"\} 1$/m);
    });

    it('public routes need no identity', async () => {
      assert.deepEqual((await send(app, 'GET', '/healthz', {})).body, { status: 'ok' });
      assert.match((await app.inject({ method: 'GET', url: '/v1/pki/ca' })).body, /BEGIN CERTIFICATE/);
      assert.match((await app.inject({ method: 'GET', url: '/v1/pki/crl' })).body, /BEGIN X509 CRL/);
    });
  });

  describe('hosts and tokens', () => {
    it('add, list, show, label, set the address, remove; each audited under the operator', async () => {
      const added = await send(app, 'POST', '/v1/hosts', OPS, { name: 'web1', address: '10.0.0.1', labels: { site: 'a' } });
      assert.equal(added.status, 201);
      assert.match(String(added.body.token), /^web1\.[A-Za-z0-9_-]{43}$/);
      assert.equal(added.body.caHash, ctl.context.issuer.ca.fingerprint);

      const list = await send(app, 'GET', '/v1/hosts', OPS);
      assert.equal(list.status, 200);
      assert.deepEqual(list.body.map((h) => [h.name, h.address, h.enrolled, h.online]), [['web1', '10.0.0.1:8766', false, false]]);

      const labelled = await send(app, 'PATCH', '/v1/hosts/web1/labels', OPS, { set: { tier: 'edge' }, remove: ['site'] });
      assert.equal(labelled.status, 200);
      assert.deepEqual(labelled.body.labels, { tier: 'edge' });
      assert.equal((await send(app, 'PATCH', '/v1/hosts/web1/labels', OPS, { set: { 'bad key': 'x' } })).body.code, 'SWARM_ERR_LABEL_INVALID');
      assert.deepEqual((await send(app, 'GET', '/v1/hosts?selector=tier%3Dedge', OPS)).body.map((h) => h.name), ['web1']);
      assert.deepEqual((await send(app, 'GET', '/v1/hosts?selector=tier%3Dcore', OPS)).body, []);

      const moved = await send(app, 'PATCH', '/v1/hosts/web1/address', OPS, { address: '10.0.0.2:9000' });
      assert.equal(moved.body.address, '10.0.0.2:9000');

      const shown = await send(app, 'GET', '/v1/hosts/web1', OPS);
      assert.equal(shown.status, 200);
      assert.deepEqual(shown.body.certificates, []);
      assert.deepEqual(shown.body.reports, { agent: null, updater: null });

      const removed = await send(app, 'DELETE', '/v1/hosts/web1', OPS);
      assert.deepEqual(removed.body, { name: 'web1', removed: true, revoked: [] });
      const gone = await send(app, 'GET', '/v1/hosts/web1', OPS);
      assert.equal(gone.status, 404);
      assert.equal(gone.body.code, 'SWARM_ERR_HOST_NOT_FOUND');

      const audit = await send(app, 'GET', '/v1/audit?order=asc', OPS);
      assert.deepEqual(audit.body.map((e) => [e.action, e.target, e.actor]), [
        ['host.add', 'web1', 'spiffe://test/operator/ops1'],
        ['host.label', 'web1', 'spiffe://test/operator/ops1'],
        ['host.address', 'web1', 'spiffe://test/operator/ops1'],
        ['host.remove', 'web1', 'spiffe://test/operator/ops1'],
      ]);
      assert.deepEqual((await send(app, 'GET', '/v1/audit?limit=1', OPS)).body.map((e) => e.action), ['host.remove'], 'newest first by default');
    });

    it('refuses bad names, an enrolled name and bad addresses, naming the problem', async () => {
      assert.equal((await send(app, 'POST', '/v1/hosts', OPS, { name: 'Bad_Name' })).body.code, 'SWARM_ERR_HOST_NAME_INVALID');
      const port = await send(app, 'POST', '/v1/hosts', OPS, { name: 'p1', address: 'h:70000' });
      assert.equal(port.status, 400);
      assert.match(String(port.body.message), /port/);
      await enrollDirectly(ctl.store, 'h1');
      const exists = await send(app, 'POST', '/v1/hosts', OPS, { name: 'h1' });
      assert.equal(exists.status, 409);
      assert.equal(exists.body.code, 'SWARM_ERR_HOST_EXISTS');
      assert.equal((await send(app, 'DELETE', '/v1/hosts/nope', OPS)).body.code, 'SWARM_ERR_HOST_NOT_FOUND');
    });

    it('lists pending join tokens without the secret, replaces one on a second add, and revokes it', async () => {
      const first = await send(app, 'POST', '/v1/hosts', OPS, { name: 'tk1', tokenTtlMs: 120_000 });
      const second = await send(app, 'POST', '/v1/hosts', OPS, { name: 'tk1' });
      assert.equal(second.status, 201);
      assert.notEqual(second.body.token, first.body.token);
      const tokens = await send(app, 'GET', '/v1/tokens', OPS);
      assert.deepEqual(tokens.body.map((t) => t.name), ['tk1'], 'the first token was replaced');
      assert.deepEqual(Object.keys(tokens.body[0]!).sort(), ['createdAt', 'expiresAt', 'name'], 'never the secret');
      assert.deepEqual((await send(app, 'DELETE', '/v1/tokens/tk1', OPS)).body, { name: 'tk1', revoked: 1 });
      const again = await send(app, 'DELETE', '/v1/tokens/tk1', OPS);
      assert.equal(again.status, 404);
      assert.equal(again.body.code, 'SWARM_ERR_TOKEN_NOT_FOUND');
      assert.deepEqual((await send(app, 'GET', '/v1/tokens', OPS)).body, []);
    });
  });

  describe('certificates', () => {
    it('lists the certificates in force, and shows a removed host\'s as revoked', async () => {
      await enrollDirectly(ctl.store, 'c1');
      const now = Date.now();
      for (const role of ['agent', 'updater'] as const) {
        await ctl.store.recordCertificate({ serial: testSerial(role, 'c1'), role, name: 'c1', notBefore: now - 1000, notAfter: now + 86_400_000, issuedAt: now });
      }
      const agents = await send(app, 'GET', '/v1/certificates?role=agent', OPS);
      assert.deepEqual(agents.body.map((c) => [c.serial, c.identity, c.state]), [[testSerial('agent', 'c1'), 'spiffe://test/agent/c1', 'valid']]);
      assert.equal((await send(app, 'GET', '/v1/certificates?role=king', OPS)).status, 400);

      const removed = await send(app, 'DELETE', '/v1/hosts/c1', OPS);
      assert.deepEqual([...(removed.body.revoked as string[])].sort(), [testSerial('agent', 'c1'), testSerial('updater', 'c1')].sort());
      const after = await send(app, 'GET', '/v1/certificates?name=c1', OPS);
      assert.deepEqual(after.body.map((c) => [c.role, c.state]), [['agent', 'revoked'], ['updater', 'revoked']]);
      // Refused from now on, by the same guard.
      const refused = await send(app, 'GET', '/v1/hosts', as('operator', 'ops1', testSerial('agent', 'c1')));
      assert.equal(refused.body.code, 'SWARM_ERR_AUTH_REVOKED');
    });
  });
});
