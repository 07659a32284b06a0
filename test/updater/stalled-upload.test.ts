// Over real HTTPS: a trickling upload is cut, and a rollback sent while an upload is stalled answers 200 at once.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../shared/logger.js';
import { buildUpdaterApp } from '../../updater/app.js';
import type { UploadPace } from '../../updater/upload-pace.js';
import { mintIdentity, type TestIdentity } from '../helpers/pki.js';
import { pollUntil } from '../helpers/wait.js';
import { buildAgentRelease, type BuiltRelease } from './helpers/agent-release.js';
import { makeEngineHost, type EngineHost } from './helpers/engine-host.js';

interface RawAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** A controller's raw TLS connection: headers, part of the body, then silence; resolves with the answer when the server closes. */
function stallingUpload(port: number, id: TestIdentity, r: BuiltRelease, sendBytes: number): { socket: TLSSocket; tcp: Socket; answer: Promise<RawAnswer> } {
  // Over a TCP socket of our own: a test can reset it (RST, as the kernel does for a killed process with unread data).
  const tcp = netConnect(port, '127.0.0.1');
  const socket = connect({ socket: tcp, ca: id.ca, cert: id.cert, key: id.key, checkServerIdentity: () => undefined });
  const chunks: Buffer[] = [];
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('error', reject);
    socket.once('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const json = text.slice(text.indexOf('\r\n\r\n') + 4);
      resolve({ status, body: json ? (JSON.parse(json) as Record<string, unknown>) : {} });
    });
  });
  socket.once('secureConnect', () => {
    socket.write(`POST /v1/update HTTP/1.1\r\nhost: h1\r\ncontent-type: application/gzip\r\ncontent-length: ${r.tarball.length}\r\nx-swarm-release-sha256: ${r.id}\r\n\r\n`);
    socket.write(r.tarball.subarray(0, sendBytes));
  });
  return { socket, tcp, answer };
}

async function post(port: number, id: TestIdentity, path: string, body?: BuiltRelease): Promise<RawAnswer> {
  const { request, Agent } = await import('undici');
  const dispatcher = new Agent({ connect: { ca: id.ca, cert: id.cert, key: id.key, checkServerIdentity: () => undefined } });
  try {
    const res = await request(`https://127.0.0.1:${port}${path}`, {
      method: 'POST', dispatcher,
      ...(body ? { body: body.tarball, headers: { 'content-type': 'application/gzip', 'x-swarm-release-sha256': body.id } } : {}),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  } finally {
    await dispatcher.close();
  }
}

describe('updater over HTTPS: stalled uploads', function () {
  this.timeout(20_000);
  let h: EngineHost;
  let app: FastifyInstance;
  let port: number;
  let controller: TestIdentity;
  let v1: BuiltRelease;
  let v2: BuiltRelease;
  let v3: BuiltRelease;

  before(async () => {
    controller = await mintIdentity('controller', 'controller');
    [v1, v2, v3] = await Promise.all([buildAgentRelease('1.0.0'), buildAgentRelease('2.0.0'), buildAgentRelease('3.0.0', { mode: 'good' }, { 'pad.bin': Buffer.alloc(256 * 1024, 5) })]);
  });

  async function serve(pace?: UploadPace): Promise<void> {
    h = await makeEngineHost();
    const material = (await mintIdentity('updater', 'h1')).material;
    app = await buildUpdaterApp({ material, logger: silentLogger(), updater: h.updater, store: h.store, operations: h.operations, ...(pace ? { uploadPace: pace } : {}) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const a = app.server.address();
    port = typeof a === 'object' && a ? a.port : 0;
    assert.equal((await post(port, controller, '/v1/update', v1)).status, 200);
    assert.equal((await post(port, controller, '/v1/update', v2)).status, 200);
  }

  afterEach(async () => {
    await app.close();
    await h.cleanup();
  });

  it('cuts a body that stalls below the minimum rate, answers the sender and frees the lock', async () => {
    await serve({ minBytesPerSecond: 4096, windowMs: 100, deadlineMs: 10_000 });
    const { answer } = stallingUpload(port, controller, v3, 100);
    const a = await answer;
    assert.equal(a.status, 408);
    assert.equal(a.body.code, 'SWARM_ERR_UPDATER_UPLOAD_TOO_SLOW');
    assert.equal(h.updater.runningId, null, 'the operation lock is free');
    assert.deepEqual(await readdir(h.paths.staging), [], 'staging is empty');
    assert.equal((await h.store.readLinks()).active?.id, v2.id, 'active did not move');
    const next = await buildAgentRelease('3.0.1');
    assert.equal((await post(port, controller, '/v1/update', next)).status, 200, 'the next update works');
  });

  it('records a sender that died mid-body (its connection gone while the install waits for more) as SWARM_ERR_UPDATER_UPLOAD_ABORTED, refused', async () => {
    // What a controller killed mid-push leaves: a controller settling from the records must see that the release never
    // arrived (and send it again), not an install failure to count against the rollout's budget.
    await serve();
    const { tcp, answer } = stallingUpload(port, controller, v3, v3.tarball.length >> 1);
    await h.store.bodyRead;
    // Let the install drain what came and wait for the rest: the connection then goes while it awaits the next chunk.
    await new Promise((r) => setTimeout(r, 50));
    tcp.resetAndDestroy();
    await answer.catch(() => undefined);
    const record = await pollUntil('the operation to end', async () => {
      const r = await h.operations.latest();
      return r && r.state !== 'running' ? r : undefined;
    }, { timeoutMs: 5_000, everyMs: 10 });
    assert.deepEqual([record.state, record.error?.code], ['refused', 'SWARM_ERR_UPDATER_UPLOAD_ABORTED'], record.error?.message);
    // The record is written before the operation lets go of the lock: wait for that, then check it did.
    await h.updater.whenIdle();
    assert.equal(h.updater.runningId, null, 'the operation lock is free');
    assert.deepEqual(await readdir(h.paths.staging), [], 'staging is empty');
    assert.equal((await h.store.readLinks()).active?.id, v2.id, 'active did not move');
  });

  it('answers a rollback sent while an upload is stalled mid-body with 200 at once; the stalled sender gets PREEMPTED', async () => {
    await serve();
    const { answer } = stallingUpload(port, controller, v3, v3.tarball.length >> 1);
    await h.store.bodyRead;

    const rolled = await post(port, controller, '/v1/rollback');
    assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
    assert.equal(rolled.body.state, 'rolled-back');
    assert.equal((await h.store.readLinks()).active?.id, v1.id, 'active is back on prev');
    const stalled = await answer;
    assert.equal(stalled.status, 409);
    assert.equal(stalled.body.code, 'SWARM_ERR_UPDATER_PREEMPTED');
    assert.deepEqual(await readdir(h.paths.staging), [], 'staging is empty');
    assert.ok(!(await readdir(h.paths.releases)).includes(v3.dirName), 'active never pointed at the partial release');
  });
});
