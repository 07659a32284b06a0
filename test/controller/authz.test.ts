// Who may call what on the controller: operator routes, metrics and channels refuse every other identity (real TLS).
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { CertificateAuthority, createCa, createCsr, generateKeyPair } from '../../pki/index.js';
import { checkServerIdentity, type TlsMaterial } from '../../shared/tls.js';
import { mintIdentity, testKey, type TestIdentity } from '../helpers/pki.js';
import { agentHealth, call, clientFor, startInProcessController, waitFor, type InProcessController } from './helpers.js';

/** Open a channel; resolves with 'open' + the first message, or the refusal. */
function openChannel(url: string, path: string, ca: string, client?: TlsMaterial): Promise<{ result: string; ws?: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace('https', 'wss')}${path}`, {
      ca, ...(client ? { cert: client.cert, key: client.key } : {}),
      checkServerIdentity: (_h: string, cert: never) => checkServerIdentity(cert, 'test', { role: 'controller' }),
    } as unknown as WebSocket.ClientOptions);
    ws.once('message', (d) => resolve({ result: `open ${d.toString()}`, ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ result: `status ${res.statusCode}` });
      ws.terminate();
    });
    ws.once('error', (err) => resolve({ result: `error ${err.message}` }));
  });
}

describe('controller authorization (in-process app, real TLS)', () => {
  let ctl: InProcessController;
  let ca: string;
  let operator: TestIdentity;
  let agent: TestIdentity;
  let updater: TestIdentity;
  let otherAgent: TestIdentity;
  let foreign: TestIdentity;
  before(async () => {
    ctl = await startInProcessController({ heartbeatMs: 500 });
    operator = await mintIdentity('operator', 'ops1');
    agent = await mintIdentity('agent', 'h1');
    updater = await mintIdentity('updater', 'h1');
    otherAgent = await mintIdentity('agent', 'ghost');
    const foreignCa = CertificateAuthority.load(await createCa({ cluster: 'test' }));
    foreign = await mintIdentity('operator', 'ops1', { issuer: foreignCa });
    ca = operator.ca;
    // h1 is an enrolled host; its certificates are on record.
    await ctl.store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: Date.now() });
    await ctl.store.insertJoinToken({ hash: 'f'.repeat(64), hostName: 'h1', createdAt: Date.now(), expiresAt: Date.now() + 60_000, usedAt: null });
    await ctl.store.consumeJoinToken('f'.repeat(64), 'h1', Date.now());
    for (const id of [operator, agent, updater]) {
      await ctl.store.recordCertificate({ serial: id.serial, role: id.material.identity.role, name: id.material.identity.name, notBefore: 0, notAfter: id.material.notAfter, issuedAt: Date.now() });
    }
  });
  after(async () => ctl?.close());

  const OPERATOR_ROUTES: Array<[string, string, unknown?]> = [
    ['GET', '/v1/hosts'], ['POST', '/v1/hosts', { name: 'x1' }], ['GET', '/v1/hosts/h1'], ['DELETE', '/v1/hosts/h1'],
    ['GET', '/v1/status'], ['GET', '/v1/certificates'], ['GET', '/v1/audit'], ['POST', '/v1/operators', { name: 'x', csr: 'x' }], ['GET', '/metrics'],
  ];

  it('operator routes and metrics refuse agent and updater certificates (403)', async () => {
    for (const id of [agent, updater]) {
      const d = clientFor(ca, id.material);
      for (const [method, path, body] of OPERATOR_ROUTES) {
        const r = await call(d, `${ctl.url}${path}`, method, body);
        assert.equal(r.status, 403, `${id.material.identity.role} ${method} ${path}`);
        assert.equal(r.body.code, 'SWARM_ERR_AUTH_FORBIDDEN');
      }
      await d.close();
    }
    assert.equal((await ctl.store.getHost('h1'))?.removedAt, null, 'nothing was removed');
  });

  it('operator routes refuse connections without a certificate or with a foreign one (401)', async () => {
    for (const client of [undefined, foreign.material]) {
      const d = clientFor(ca, client);
      for (const [method, path, body] of OPERATOR_ROUTES) {
        const r = await call(d, `${ctl.url}${path}`, method, body);
        assert.equal(r.status, 401, `${client ? 'foreign' : 'no cert'} ${method} ${path}`);
        assert.equal(r.body.code, 'SWARM_ERR_AUTH_NO_CLIENT_CERT');
      }
      await d.close();
    }
  });

  it('lets an operator in, and serves Prometheus metrics to it', async () => {
    const d = clientFor(ca, operator.material);
    assert.equal((await call(d, `${ctl.url}/v1/hosts`)).status, 200);
    const res = await fetchText(d, `${ctl.url}/metrics`);
    assert.match(res, /^# TYPE swarm_hosts_online gauge$/m);
    assert.match(res, /^swarm_channels_open\{role="agent"\} \d+$/m);
    assert.match(res, /^swarm_http_request_duration_seconds_bucket\{route="\/v1\/hosts",status="2xx",le="\+Inf"\} \d+$/m);
    assert.match(res, /^swarm_certificates_expiring_soon \d+$/m);
    assert.match(res, /^swarm_enrollments_total\{result="refused"\} \d+$/m);
    await d.close();
  });

  it('healthz, the CA and the CRL are public', async () => {
    const d = clientFor(ca);
    assert.equal((await call(d, `${ctl.url}/healthz`)).status, 200);
    assert.match(await fetchText(d, `${ctl.url}/v1/pki/ca`), /BEGIN CERTIFICATE/);
    assert.match(await fetchText(d, `${ctl.url}/v1/pki/crl`), /BEGIN X509 CRL/);
    await d.close();
  });

  it('channels admit only their role of an enrolled host, checked on the upgrade', async () => {
    assert.equal((await openChannel(ctl.url, '/v1/channel/agent', ca)).result, 'status 401');
    assert.equal((await openChannel(ctl.url, '/v1/channel/agent', ca, foreign.material)).result, 'status 401');
    assert.equal((await openChannel(ctl.url, '/v1/channel/agent', ca, operator.material)).result, 'status 403');
    assert.equal((await openChannel(ctl.url, '/v1/channel/updater', ca, agent.material)).result, 'status 403');
    assert.equal((await openChannel(ctl.url, '/v1/channel/agent', ca, updater.material)).result, 'status 403');
    assert.equal((await openChannel(ctl.url, '/v1/channel/agent', ca, otherAgent.material)).result, 'status 403', 'not an enrolled host');
    assert.equal((await openChannel(ctl.url, '/v1/channel/nope', ca, agent.material)).result, 'status 404');
    const ok = await openChannel(ctl.url, '/v1/channel/agent', ca, agent.material);
    assert.match(ok.result, /^open .*"type":"welcome".*spiffe:\/\/test\/agent\/h1/);
    ok.ws!.close();
  });

  it('validates every channel message: a malformed report closes the channel with 4400, a valid one is stored', async () => {
    const bad = await openChannel(ctl.url, '/v1/channel/agent', ca, agent.material);
    const closed = new Promise<number>((resolve) => bad.ws!.once('close', (code) => resolve(code)));
    bad.ws!.send(JSON.stringify({ type: 'report', report: { status: 'great' }, certNotAfter: new Date().toISOString() }));
    assert.equal(await closed, 4400);
    assert.equal(ctl.context.reports.get('h1'), undefined);

    const good = await openChannel(ctl.url, '/v1/channel/agent', ca, agent.material);
    good.ws!.send(JSON.stringify({ type: 'report', report: agentHealth('c'.repeat(64)), certNotAfter: new Date(agent.material.notAfter).toISOString() }));
    const d = clientFor(ca, operator.material);
    const h = await waitFor('report stored', async () => {
      const r = await call(d, `${ctl.url}/v1/hosts/h1`);
      return r.body.release === 'c'.repeat(64) ? r.body : undefined;
    });
    assert.equal(h.online, true);
    good.ws!.close();
    // Silent past the offline timeout (3 heartbeats of 500 ms): offline.
    await waitFor('host offline', async () => {
      const r = await call(d, `${ctl.url}/v1/hosts/h1`);
      return r.body.online === false ? true : undefined;
    }, 5_000);
    await d.close();
  });

  it('renewal is for an enrolled identity with a new key only', async () => {
    const reuse = clientFor(ca, agent.material);
    const sameKey = createCsr({ keyPem: agent.key, publicKeyPem: (await testKey()).publicKeyPem, commonName: 'h1' });
    const r1 = await call(reuse, `${ctl.url}/v1/pki/renew`, 'POST', { csr: sameKey });
    assert.equal(r1.status, 400);
    assert.equal(r1.body.code, 'SWARM_ERR_RENEW_KEY_REUSED');
    await reuse.close();
    const fresh = await generateKeyPair();
    const csr = createCsr({ keyPem: fresh.privateKeyPem, publicKeyPem: fresh.publicKeyPem, commonName: 'ghost' });
    const ghost = clientFor(ca, otherAgent.material); // issued by the CA but never recorded: not an enrolled identity
    const r2 = await call(ghost, `${ctl.url}/v1/pki/renew`, 'POST', { csr });
    assert.equal(r2.status, 403);
    assert.equal(r2.body.code, 'SWARM_ERR_RENEW_REFUSED');
    await ghost.close();
    const ok = clientFor(ca, updater.material);
    const r3 = await call(ok, `${ctl.url}/v1/pki/renew`, 'POST', { csr });
    assert.equal(r3.status, 200);
    assert.match(String(r3.body.cert), /BEGIN CERTIFICATE/);
    await ok.close();
  });

  it('a revoked operator is refused on its next request and its live connection is cut', async () => {
    const victim = await mintIdentity('operator', 'victim');
    await ctl.store.recordCertificate({ serial: victim.serial, role: 'operator', name: 'victim', notBefore: 0, notAfter: victim.material.notAfter, issuedAt: Date.now() });
    const dv = clientFor(ca, victim.material);
    assert.equal((await call(dv, `${ctl.url}/v1/hosts`)).status, 200);
    const d = clientFor(ca, operator.material);
    assert.equal((await call(d, `${ctl.url}/v1/operators/ops1`, 'DELETE')).body.code, 'SWARM_ERR_OPERATOR_SELF_REMOVE');
    const r = await call(d, `${ctl.url}/v1/operators/victim`, 'DELETE');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.revoked, [victim.serial]);
    await assert.rejects(call(dv, `${ctl.url}/v1/hosts`).then((x) => {
      if (x.status === 403) throw new Error('refused with 403');
      return x;
    }));
    await dv.close();
    await d.close();
  });
});

async function fetchText(d: ReturnType<typeof clientFor>, url: string): Promise<string> {
  const { request } = await import('undici');
  const res = await request(url, { dispatcher: d });
  return res.body.text();
}
