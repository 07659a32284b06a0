// Attacks on the controller's doors: a token sent in clear, spoofed client addresses, a removed or replaced channel still talking.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import WebSocket from 'ws';
import { createCsr, fingerprintOf, generateKeyPair } from '../../pki/index.js';
import { checkServerIdentity, type TlsMaterial } from '../../shared/tls.js';
import { joinCluster } from '../../updater/join.js';
import { mintIdentity, tempDir } from '../helpers/pki.js';
import { agentHealth, call, clientFor, enrollDirectly, startInProcessController, waitFor, type InProcessController } from './helpers.js';

/** A raw agent channel: resolves once the controller's welcome arrived. */
async function openAgentChannel(url: string, client: TlsMaterial): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace('https', 'wss')}/v1/channel/agent`, {
    ca: client.ca, cert: client.cert, key: client.key,
    checkServerIdentity: (_h: string, cert: never) => checkServerIdentity(cert, 'test', { role: 'controller' }),
  } as unknown as WebSocket.ClientOptions);
  await once(ws, 'message');
  return ws;
}

const report = (release: string): string => JSON.stringify({ type: 'report', report: agentHealth(release), certNotAfter: new Date(Date.now() + 60_000).toISOString() });

/** The underlying socket of a ws client (to stop reading: the controller's close frame then waits unread). */
const socketOf = (ws: WebSocket): { pause(): void; resume(): void } => (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;

describe('attacks on the controller (in-process app, real TLS)', () => {
  let ctl: InProcessController;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const releaseOf = (host: string): string | undefined => (ctl.context.reports.get(host)?.agent?.report as { release?: string } | undefined)?.release;
  before(async () => {
    ctl = await startInProcessController({ enrollLimits: { max: 3, windowMs: 60_000 } });
    dir = await tempDir('swarm-attacks-');
  });
  after(async () => {
    await ctl?.close();
    await dir?.cleanup();
  });

  it('swarm-updater join refuses a plain http:// controller and never sends the token', async () => {
    const seen: string[] = [];
    const caPem = ctl.context.issuer.ca.certPem;
    // Someone on the path answering plain HTTP: it serves the real (public) CA, so the hash matches.
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body}`);
        res.end(req.url === '/v1/pki/ca' ? caPem : '{}');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const token = `h9.${'Q'.repeat(43)}`;
      await assert.rejects(joinCluster({ controllerUrl: url, token, caHash: fingerprintOf(caPem), pkiDir: join(dir.path, 'h9') }), /https:\/\//);
      assert.ok(!seen.some((s) => s.includes(token)), `the token went out in clear: ${seen.join(' | ')}`);
    } finally {
      server.close();
    }
  });

  it('the enrollment rate limit keys on the connection, not on X-Forwarded-For', async () => {
    const d = clientFor(ctl.context.issuer.ca.certPem);
    const [k1, k2] = await Promise.all([generateKeyPair(), generateKeyPair()]);
    const body = JSON.stringify({
      name: 'z1', token: `z1.${'A'.repeat(43)}`,
      updaterCsr: createCsr({ keyPem: k1.privateKeyPem, publicKeyPem: k1.publicKeyPem, commonName: 'z1' }),
      agentCsr: createCsr({ keyPem: k2.privateKeyPem, publicKeyPem: k2.publicKeyPem, commonName: 'z1' }),
    });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await request(`${ctl.url}/v1/enroll`, {
        method: 'POST', dispatcher: d, body,
        headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.0.0.${i}`, 'x-real-ip': `10.0.1.${i}`, forwarded: `for=10.0.2.${i}` },
      });
      await res.body.text();
      statuses.push(res.statusCode);
    }
    await d.close();
    assert.deepEqual(statuses, [403, 403, 403, 429, 429]);
  });

  it('a distributed enrollment flood trips the global budget, though no single address reaches its own limit', async () => {
    const limited = await startInProcessController({ enrollLimits: { max: 2, windowMs: 60_000, globalMax: 5 } });
    const [k1, k2] = await Promise.all([generateKeyPair(), generateKeyPair()]);
    const body = JSON.stringify({
      name: 'f1', token: `f1.${'A'.repeat(43)}`,
      updaterCsr: createCsr({ keyPem: k1.privateKeyPem, publicKeyPem: k1.publicKeyPem, commonName: 'f1' }),
      agentCsr: createCsr({ keyPem: k2.privateKeyPem, publicKeyPem: k2.publicKeyPem, commonName: 'f1' }),
    });
    const { Agent } = await import('undici');
    const ca = limited.context.issuer.ca.certPem;
    const from = (localAddress: string) => new Agent({ localAddress, connect: { ca, checkServerIdentity: () => undefined } });
    const sources = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'].map((a) => ({ address: a, d: from(a) }));
    try {
      const results: Array<{ status: number; code: string; retryAfter: unknown }> = [];
      const attempt = async (d: InstanceType<typeof Agent>) => {
        const res = await request(`${limited.url}/v1/enroll`, { method: 'POST', dispatcher: d, body, headers: { 'content-type': 'application/json' } });
        const parsed = (await res.body.json()) as { code: string };
        return { status: res.statusCode, code: parsed.code, retryAfter: res.headers['retry-after'] };
      };
      // Two attempts from each of four addresses: within every per-address limit, beyond the global budget.
      for (const s of sources) for (let i = 0; i < 2; i++) results.push(await attempt(s.d));
      assert.deepEqual(results.map((r) => r.code), [
        ...Array<string>(5).fill('SWARM_ERR_ENROLL_REFUSED'),
        ...Array<string>(3).fill('SWARM_ERR_ENROLL_BUSY'),
      ]);
      assert.ok(results.slice(5).every((r) => r.status === 429 && Number(r.retryAfter) > 0), 'busy answers say when to retry');
      // One address past its own limit is still answered by the per-address limiter.
      assert.equal((await attempt(sources[0]!.d)).code, 'SWARM_ERR_RATE_LIMITED');
    } finally {
      await Promise.all(sources.map((s) => s.d.close()));
      await limited.close();
    }
  });

  it('a removed host\'s channel cannot report after the removal (its last words are not recorded)', async () => {
    await enrollDirectly(ctl.store, 'gone1');
    const agent = await mintIdentity('agent', 'gone1');
    await ctl.store.recordCertificate({ serial: agent.serial, role: 'agent', name: 'gone1', notBefore: 0, notAfter: agent.material.notAfter, issuedAt: Date.now() });
    const op = await mintIdentity('operator', 'ops');
    const ops = clientFor(agent.ca, op.material);
    const ws = await openAgentChannel(ctl.url, agent.material);
    try {
      // Stop reading: the controller's close frame waits unread, so this client still "believes" it is connected.
      socketOf(ws).pause();
      const removed = await call(ops, `${ctl.url}/v1/hosts/gone1`, 'DELETE');
      assert.equal(removed.status, 200);
      ws.send(report('b'.repeat(64)));
      const closed = once(ws, 'close');
      socketOf(ws).resume();
      await closed;
      assert.equal(ctl.context.reports.get('gone1'), undefined, 'a report from a revoked channel was recorded');
    } finally {
      ws.terminate();
      await ops.close();
    }
  });

  it('a replaced channel cannot overwrite the report of the channel that replaced it', async () => {
    await enrollDirectly(ctl.store, 'twice1');
    const agent = await mintIdentity('agent', 'twice1');
    const first = await openAgentChannel(ctl.url, agent.material);
    socketOf(first).pause();
    const second = await openAgentChannel(ctl.url, agent.material);
    try {
      second.send(report('c'.repeat(64)));
      await waitFor('the new channel\'s report', async () => releaseOf('twice1') === 'c'.repeat(64) || undefined);
      first.send(report('d'.repeat(64)));
      const closed = once(first, 'close');
      socketOf(first).resume();
      await closed;
      assert.equal(releaseOf('twice1'), 'c'.repeat(64));
    } finally {
      first.terminate();
      second.terminate();
    }
  });

  it('a replaced channel that ignores the close is cut: one identity cannot pile up connections', async () => {
    await enrollDirectly(ctl.store, 'pile1');
    const agent = await mintIdentity('agent', 'pile1');
    const connections = (): Promise<number> => new Promise((resolve, reject) => ctl.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    const base = await connections();
    const held: WebSocket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const ws = await openAgentChannel(ctl.url, agent.material);
        socketOf(ws).pause(); // never answers the controller's close frame
        held.push(ws);
      }
      await waitFor('replaced channels cut', async () => ((await connections()) === base + 1 ? true : undefined), 3000);
    } finally {
      for (const ws of held) ws.terminate();
    }
  });

  it('renewals are rate-limited per identity: a stolen identity cannot fill the certificate table', async () => {
    const limited = await startInProcessController({ renewLimits: { max: 3, windowMs: 60_000 } });
    try {
      const ids = await Promise.all([mintIdentity('agent', 'busy1'), mintIdentity('updater', 'busy1')]);
      await enrollDirectly(limited.store, 'busy1');
      for (const id of ids) await limited.store.recordCertificate({ serial: id.serial, role: id.material.identity.role, name: 'busy1', notBefore: 0, notAfter: id.material.notAfter, issuedAt: Date.now() });
      // Every renewal needs a key never certified before.
      const csrs = await Promise.all(Array.from({ length: 6 }, async () => {
        const fresh = await generateKeyPair();
        return createCsr({ keyPem: fresh.privateKeyPem, publicKeyPem: fresh.publicKeyPem, commonName: 'busy1' });
      }));
      const agentD = clientFor(ids[0]!.ca, ids[0]!.material);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await call(agentD, `${limited.url}/v1/pki/renew`, 'POST', { csr: csrs[i] });
        statuses.push(r.status);
        if (r.status === 429) assert.equal(r.body.code, 'SWARM_ERR_RATE_LIMITED');
      }
      await agentD.close();
      assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
      assert.equal((await limited.store.listCertificates({ role: 'agent', name: 'busy1' })).length, 4, 'the original and three renewals');
      // Another identity (the same host's updater) is not held back by the agent's limit.
      const updaterD = clientFor(ids[1]!.ca, ids[1]!.material);
      assert.equal((await call(updaterD, `${limited.url}/v1/pki/renew`, 'POST', { csr: csrs[5] })).status, 200);
      await updaterD.close();
    } finally {
      await limited.close();
    }
  });
});
