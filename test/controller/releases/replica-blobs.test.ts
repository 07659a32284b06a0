// Release blobs on PostgreSQL, shared by replicas: two in-process controllers (separate state dirs) on one database
// this test starts. A release uploaded to A streams from B and B pushes it; refused uploads leave no chunk and no
// record; a 20 MB blob is read one chunk at a time as its consumer takes it; /metrics names each replica and its role.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import pg from 'pg';
import { request, type Agent } from 'undici';
import { DatabaseReleaseBlobs, releaseUploadLimits, type ReleaseStore } from '../../../controller/releases/index.js';
import { createRolloutEngine } from '../../../controller/rollout/engine.js';
import { openPostgresStore, type ReleaseBlobTables, type RolloutRecord, type Store } from '../../../controller/store/index.js';
import { systemClock } from '../../../shared/clock.js';
import { sequentialIds } from '../../../shared/ids.js';
import { silentLogger } from '../../../shared/logger.js';
import { buildRelease } from '../../../shared/release/index.js';
import { startFakeUpdater } from '../../helpers/fake-updater.js';
import { mintIdentity, tempDir, type TestIdentity } from '../../helpers/pki.js';
import { startPostgres, type PgServer, type TestDatabase } from '../../helpers/postgres.js';
import { chunkedBody, writeReleaseTree } from '../../helpers/releases.js';
import { call, clientFor, startInProcessController, type InProcessController } from '../helpers.js';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function makeRelease(version: string, randomMiB = 0): Promise<{ tarball: Buffer; id: string }> {
  const dir = await tempDir('swarm-rel-src-');
  try {
    await writeReleaseTree(dir.path, { version, files: randomMiB, fileBytes: MiB, content: 'random' });
    return await buildRelease(dir.path, { version });
  } finally {
    await dir.cleanup();
  }
}

async function upload(d: Agent, url: string, body: Buffer, id: string): Promise<{ status: number; body: { code?: string; id?: string } }> {
  const res = await request(`${url}/v1/releases`, { method: 'POST', dispatcher: d, body, headers: { 'content-type': 'application/gzip', 'x-swarm-release-sha256': id } });
  return { status: res.statusCode, body: JSON.parse(await res.body.text()) as { code?: string } };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}

describe('release blobs in PostgreSQL, shared by two replicas', function () {
  this.timeout(60_000);
  let server: PgServer | undefined;
  let operator: TestIdentity;
  let small: { tarball: Buffer; id: string };
  let three: { tarball: Buffer; id: string };
  before(async function () {
    this.timeout(120_000);
    server = await startPostgres();
    operator = await mintIdentity('operator', 'admin');
    small = await makeRelease('1.0.0');
    three = await makeRelease('3.0.0', 3);
  });
  after(async () => {
    await server?.stop();
  });

  let db: TestDatabase;
  let a: InProcessController | undefined;
  let b: InProcessController | undefined;
  let d: Agent | undefined;
  let raw: pg.Client | undefined;
  const count = async (table: 'release_blobs' | 'release_chunks' | 'releases'): Promise<number> => Number((await raw!.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
  /** Two replicas on one fresh database, each with its own state dir; `before` runs once both stores are open (migrated). */
  const replicas = async (before?: (stores: [Store, Store]) => Promise<void>): Promise<void> => {
    db = await server!.createDatabase();
    const stores: [Store, Store] = [await openPostgresStore(db.url), await openPostgresStore(db.url)];
    await before?.(stores);
    a = await startInProcessController({ store: stores[0], rolloutLease: { holder: 'replica-a' } });
    b = await startInProcessController({ store: stores[1], rolloutLease: { holder: 'replica-b' } });
    d = clientFor(operator.ca, operator.material);
    raw = new pg.Client({ connectionString: db.url });
    await raw.connect();
  };
  afterEach(async () => {
    await d?.close();
    await a?.close();
    await b?.close();
    await raw?.end();
    [a, b, d, raw] = [undefined, undefined, undefined, undefined];
    await db?.drop();
  });

  it('a release uploaded to A streams from B byte for byte; uploading it again to B stores nothing new', async () => {
    await replicas();
    const first = await upload(d!, a!.url, three.tarball, three.id);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const chunks = await count('release_chunks');
    assert.equal(chunks, Math.ceil(three.tarball.length / MiB), 'stored in 1 MiB chunks');
    const { release, stream } = await b!.context.releases!.openStream(three.id);
    assert.equal(release.version, '3.0.0');
    assert.ok((await readAll(stream)).equals(three.tarball), 'B streams the bytes A received');
    const again = await upload(d!, b!.url, three.tarball, three.id);
    assert.equal(again.status, 200);
    assert.deepEqual([await count('release_blobs'), await count('release_chunks'), await count('releases')], [1, chunks, 1], 'nothing new stored');
    // release show / list are the same on both replicas.
    for (const ctl of [a!, b!]) assert.deepEqual(((await call(d!, `${ctl.url}/v1/releases`)).body as unknown as Array<{ id: string }>).map((r) => r.id), [three.id]);
  });

  it('B drives a rollout of a release uploaded to A: the updater receives the whole release from B', async () => {
    await replicas();
    assert.equal((await upload(d!, a!.url, three.tarball, three.id)).status, 201);
    const fake = await startFakeUpdater('h1');
    const received: string[] = [];
    fake.behave = (id) => {
      received.push(id);
      return 'commit';
    };
    const material = (await mintIdentity('controller', 'controller')).material;
    // B's release store, the engine B's app builds around it (a fleet of one fake updater instead of channels).
    const engine = createRolloutEngine({
      store: b!.store, releases: b!.context.releases!, material: () => material, clock: systemClock, ids: sequentialIds(), logger: silentLogger(),
      fleet: { list: async () => [{ name: 'h1', address: fake.address, labels: {}, release: null, updaterOnline: true, reconnectBy: null }] },
      lease: { holder: 'replica-b-engine', exclusive: false },
    });
    try {
      const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the rollout did not finish within 20 s')), 20_000);
        const unsubscribe = engine.subscribe(undefined, (e) => {
          if (e.type === 'done' || e.type === 'paused' || e.type === 'aborted') {
            clearTimeout(timer);
            unsubscribe();
            resolve();
          }
        });
      });
      const started = await engine.start({ release: three.id, targets: { all: true }, kind: 'agent', strategy: { canary: 0 } }, 'op');
      await done;
      const r = (await engine.get(started.id))!;
      assert.equal(r.state, 'done', JSON.stringify(r));
      assert.deepEqual(fake.updates, [three.id], 'the body arrived whole (content-length and every byte)');
    } finally {
      await engine.close();
      await fake.close();
    }
  });

  it('a refused upload (bad hash, truncated) leaves no chunk and no record; a dead upload\'s staged chunks are swept', async () => {
    await replicas();
    const badHash = await upload(d!, a!.url, three.tarball, 'e'.repeat(64));
    assert.equal(badHash.status, 400);
    assert.equal(badHash.body.code, 'SWARM_ERR_RELEASE_HASH_MISMATCH');
    const truncated = await upload(d!, a!.url, three.tarball.subarray(0, Math.floor(2.5 * MiB)), three.id);
    assert.equal(truncated.status, 400);
    assert.equal(truncated.body.code, 'SWARM_ERR_RELEASE_INVALID');
    assert.deepEqual([await count('release_blobs'), await count('release_chunks'), await count('releases')], [0, 0, 0]);
    await assert.rejects(b!.context.releases!.openStream(three.id), { code: 'SWARM_ERR_RELEASE_NOT_FOUND' });
    // A controller killed mid-upload leaves a staged blob nobody names; the next upload past the deadline sweeps it.
    await raw!.query("INSERT INTO release_blobs (id, release_id, started_at) VALUES ('dead', $1, 0)", ['f'.repeat(64)]);
    await raw!.query("INSERT INTO release_chunks (blob_id, seq, data) VALUES ('dead', 0, '\\x00')");
    assert.equal((await upload(d!, b!.url, small.tarball, small.id)).status, 201);
    assert.deepEqual((await raw!.query('SELECT id FROM release_blobs')).rows.length, 1);
    assert.equal((await raw!.query("SELECT 1 FROM release_blobs WHERE id = 'dead'")).rows.length, 0, 'the dead upload is swept');
    assert.equal(await count('release_chunks'), 1);
  });

  it('a 20 MB release is stored in chunks and read one chunk at a time, only as the consumer takes them', async function () {
    await replicas();
    const big = await makeRelease('20.0.0', 20);
    const tables = a!.store.releaseBlobs!;
    let reads = 0;
    let lastRead: Promise<unknown> = Promise.resolve();
    const counted: ReleaseBlobTables = {
      ...tables,
      readReleaseChunk: (blobId, fromSeq) => {
        reads++;
        lastRead = tables.readReleaseChunk(blobId, fromSeq);
        return lastRead as ReturnType<ReleaseBlobTables['readReleaseChunk']>;
      },
    };
    const blobs: ReleaseStore = new DatabaseReleaseBlobs({ store: a!.store, tables: counted, limits: releaseUploadLimits() });
    const t0 = process.hrtime.bigint();
    const stored = await blobs.upload({ body: chunkedBody(big.tarball).body, id: big.id, signal: new AbortController().signal }, 'spiffe://test/operator/admin', Date.now());
    const uploadMs = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.equal(stored.created, true);
    const chunks = Math.ceil(big.tarball.length / MiB);
    assert.equal(await count('release_chunks'), chunks);

    const { stream } = await blobs.openStream(big.id);
    assert.equal(reads, 0, 'nothing is fetched before the consumer reads');
    const first = await new Promise<Buffer>((resolve) => stream.once('readable', () => resolve(stream.read() as Buffer)));
    assert.ok(first.length <= MiB);
    await lastRead; // the one chunk fetched ahead, if any, has arrived
    assert.ok(reads <= 2, `after the first chunk was taken, at most one more was fetched (${reads})`);
    assert.ok(stream.readableLength <= MiB, 'at most one chunk waits in the stream');
    const t1 = process.hrtime.bigint();
    const rest = await readAll(stream);
    const streamMs = Number(process.hrtime.bigint() - t1) / 1e6;
    assert.equal(sha256(Buffer.concat([first, rest])), big.id);
    assert.equal(reads, chunks + 1, 'one read per chunk, and one that finds the end');
    if (process.env.SWARM_REPORT_RATES) {
      const mb = big.tarball.length / 1e6;
      console.log(`      ${mb.toFixed(1)} MB: upload ${(mb / (uploadMs / 1000)).toFixed(0)} MB/s, stream ${(mb / (streamMs / 1000)).toFixed(0)} MB/s (PostgreSQL on loopback)`);
    }
  });

  it('/metrics: each replica names itself and its engine; the lease holder shows driver, the other standby, settled rollouts none', async () => {
    const rollout = (id: string, state: RolloutRecord['state']): RolloutRecord => ({
      id, releaseId: 'a'.repeat(64), version: '1.0.0', kind: 'agent', state, reason: null,
      strategy: { canary: 0, batch: { count: 0 }, maxParallel: 1, maxFailures: { count: 0 }, pauseBetweenMs: 0, hostDeadlineMs: 1000 },
      budget: 0, currentWave: -1, waveCount: 0, waveEndedAt: null, canaryAccepted: false, createdBy: 'op', createdAt: 1, updatedAt: 1, endedAt: null,
    });
    // Written before the replicas start, so neither engine claims it: A holds its lease for an hour.
    await replicas(async ([store]) => {
      await store.createRollout(rollout('r-running', 'rolling'), [], []);
      await store.createRollout(rollout('r-done', 'done'), [], []);
      assert.ok(await store.acquireRolloutLease('r-running', 'replica-a', Date.now(), 3_600_000));
    });
    const scrape = async (ctl: InProcessController): Promise<string[]> => {
      const r = await call(d!, `${ctl.url}/metrics`);
      assert.equal(r.status, 200);
      return String(r.body.text).split('\n').filter((l) => l.startsWith('swarm_controller_info') || l.startsWith('swarm_rollout_role'));
    };
    assert.deepEqual(await scrape(a!), ['swarm_controller_info{replica="replica-a",engine="postgres"} 1', 'swarm_rollout_role{rollout="r-running",role="driver"} 1']);
    assert.deepEqual(await scrape(b!), ['swarm_controller_info{replica="replica-b",engine="postgres"} 1', 'swarm_rollout_role{rollout="r-running",role="standby"} 1']);
  });
});
