// A fake updater over real HTTPS and mTLS (an updater certificate from the test CA) that answers pushes the way a
// real one does (200 committed, 409 rolled back or busy, 4xx refusals, cut connections, silence), on cue, and keeps
// operation records; plus a directory-backed release source. For rollout engine tests with no processes.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { fileBody, type ReleaseBody } from '../../controller/rollout/release-body.js';
import type { ReleaseMeta, ReleaseSource } from '../../controller/rollout/updater-client.js';
import { sharedError } from '../../shared/errors.js';
import { silentLogger } from '../../shared/logger.js';
import { createHttpsApp } from '../../shared/server.js';
import type { OperationRecord, UpdaterStatus } from '../../shared/wire.js';
import { mintIdentity } from './pki.js';

/** What the fake does with one push. */
export type FakeAction =
  | 'commit'
  | { rollBack: { code: string; message: string; detail?: string } }
  | { refuse: { status: number; code: string; message: string } }
  /** 409 busy: `running` is another operation's id, whose record ends (committed) after `endsAfterReads` reads. */
  | { busy: { running: string; endsAfterReads: number } }
  /** The body arrives, the operation commits and is recorded, then the connection is cut before the answer. */
  | 'cut-after-commit'
  /** The connection is cut while the body arrives; nothing recorded (the updater cancelled the install). */
  | 'cut-mid-body'
  /** Record the operation as running and never answer (until the fake closes). */
  | 'hang'
  /** Wait for the promise, then do what it says (a push held in flight until the test lets it go). */
  | { gate: Promise<FakeAction> }
  /** The body arrives and the operation is recorded running; it commits when the promise resolves, whoever still listens. */
  | { commitAfter: Promise<void> };

export interface FakeUpdater {
  name: string;
  address: string;
  /** Every push received: the release id from its header (including refused and cut ones). */
  pushes: string[];
  /** Bodies of pushes that arrived whole, by release id. */
  updates: string[];
  rollbacks: number;
  records: OperationRecord[];
  active: { id: string; version: string } | null;
  prev: { id: string; version: string } | null;
  /** Decide each push; default: commit. */
  behave: (release: string, n: number) => FakeAction;
  /** What POST /v1/rollback does; default: swap active and prev (409 without a prev). */
  rollbackAction?: () => { status: number; body: unknown } | undefined;
  /** Resolves when the n-th push (1-based) has been received. */
  pushed(n: number): Promise<void>;
  close(): Promise<void>;
}

const ref = (r: { id: string; version: string }) => ({ id: r.id, version: r.version, dir: `${r.version}-${r.id.slice(0, 12)}` });

/** Start a fake updater for host `name` (its certificate says updater/<certName ?? name>). */
export async function startFakeUpdater(name: string, options: { certName?: string; active?: { id: string; version: string } | null; prev?: { id: string; version: string } | null } = {}): Promise<FakeUpdater> {
  const id = await mintIdentity('updater', options.certName ?? name, { sans: ['127.0.0.1'] });
  const app: FastifyInstance = await createHttpsApp({ material: id.material, logger: silentLogger(), clientCert: 'required', connectionTimeoutMs: 0 });
  let seq = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const busyReads = new Map<string, number>();
  const hanging = new Set<FastifyReply>();
  const opId = (kind: string): string => `${kind}-${(++seq).toString(36)}x${Date.now().toString(36)}`;
  const record = (kind: OperationRecord['kind'], state: OperationRecord['state'], release: string | null, extra: Partial<OperationRecord> = {}): OperationRecord => {
    const r: OperationRecord = {
      id: opId(kind), kind, state, release: release ? { id: release, version: '2.0.0' } : null, from: fake.active ? ref(fake.active) : null,
      to: release ? ref({ id: release, version: '2.0.0' }) : null, startedAt: new Date().toISOString(), endedAt: state === 'running' ? null : new Date().toISOString(),
      error: null, steps: [{ at: new Date().toISOString(), step: 'received' }], ...extra,
    };
    fake.records.unshift(r);
    return r;
  };
  const drain = async (body: Readable): Promise<void> => {
    for await (const _ of body) { /* the fake installs nothing */ }
  };

  const fake: FakeUpdater = {
    name, address: '', pushes: [], updates: [], rollbacks: 0, records: [],
    active: options.active === undefined ? { id: 'b'.repeat(64), version: '1.0.0' } : options.active,
    prev: options.prev ?? null,
    behave: () => 'commit',
    pushed: (n) => new Promise((resolve) => {
      if (fake.pushes.length >= n) resolve();
      else waiters.push({ n, resolve });
    }),
    async close() {
      for (const reply of hanging) reply.raw.destroy();
      await app.close();
    },
  };

  const act = async (action: FakeAction, release: string, req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const body = req.body as Readable;
    if (typeof action === 'object' && 'gate' in action) return act(await action.gate, release, req, reply);
    if (action === 'cut-mid-body') {
      req.raw.socket.destroy();
      return reply;
    }
    if (typeof action === 'object' && 'refuse' in action) {
      body.resume();
      record('update', 'refused', release, { error: { code: action.refuse.code, message: action.refuse.message } });
      return reply.code(action.refuse.status).send({ code: action.refuse.code, message: action.refuse.message });
    }
    if (typeof action === 'object' && 'busy' in action) {
      body.resume();
      if (!fake.records.some((r) => r.id === action.busy.running)) {
        record('rollback', 'running', null).id = action.busy.running;
        busyReads.set(action.busy.running, action.busy.endsAfterReads);
      }
      return reply.code(409).send({ code: 'SWARM_ERR_UPDATER_BUSY', message: `operation ${action.busy.running} is running`, details: { running: action.busy.running } });
    }
    await drain(body);
    if (typeof action === 'object' && 'commitAfter' in action) {
      const r = record('update', 'running', release);
      hanging.add(reply);
      await action.commitAfter;
      hanging.delete(reply);
      fake.updates.push(release);
      Object.assign(r, { state: 'committed', endedAt: new Date().toISOString() });
      fake.prev = fake.active;
      fake.active = { id: release, version: '2.0.0' };
      if (reply.raw.destroyed || req.raw.socket.destroyed) return reply;
      return reply.code(200).send(r);
    }
    if (action === 'hang') {
      record('update', 'running', release);
      hanging.add(reply);
      return new Promise(() => undefined);
    }
    fake.updates.push(release);
    if (action === 'commit' || action === 'cut-after-commit') {
      const r = record('update', 'committed', release);
      fake.prev = fake.active;
      fake.active = { id: release, version: '2.0.0' };
      if (action === 'cut-after-commit') {
        req.raw.socket.destroy();
        return reply;
      }
      return reply.code(200).send(r);
    }
    const rb = action.rollBack;
    const r = record('update', 'rolled-back', release, {
      error: { code: rb.code, message: rb.message },
      steps: [{ at: new Date().toISOString(), step: 'probe', ...(rb.detail ? { detail: rb.detail } : {}) }, { at: new Date().toISOString(), step: 'rolled-back' }],
    });
    return reply.code(409).send({ ...r, code: rb.code, message: rb.message });
  };

  app.addContentTypeParser('application/gzip', (_req, payload, done) => done(null, payload));
  app.post('/v1/update', async (req, reply) => {
    const release = String(req.headers['x-swarm-release-sha256']);
    fake.pushes.push(release);
    for (const w of waiters.filter((x) => fake.pushes.length >= x.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    return act(fake.behave(release, fake.pushes.length), release, req, reply);
  });
  app.post('/v1/rollback', async (_req, reply) => {
    fake.rollbacks++;
    const custom = fake.rollbackAction?.();
    if (custom) return reply.code(custom.status).send(custom.body);
    if (!fake.prev) return reply.code(409).send({ code: 'SWARM_ERR_UPDATER_NO_ROLLBACK_TARGET', message: 'there is no previous release to roll back to' });
    const to = fake.prev;
    const r = record('rollback', 'rolled-back', null, { to: ref(to), from: fake.active ? ref(fake.active) : null });
    fake.prev = fake.active;
    fake.active = to;
    return reply.code(200).send(r);
  });
  app.get('/v1/operations', async (req) => {
    const q = req.query as { release?: string; kind?: string; limit?: string };
    return fake.records.filter((r) => (!q.release || r.release?.id === q.release) && (!q.kind || r.kind === q.kind)).slice(0, Number(q.limit ?? 50));
  });
  app.get('/v1/operations/:id', async (req) => {
    const { id: opIdParam } = req.params as { id: string };
    const r = fake.records.find((x) => x.id === opIdParam);
    if (!r) throw sharedError('SWARM_ERR_NOT_FOUND', `no operation ${opIdParam}`);
    const left = busyReads.get(r.id);
    if (left !== undefined) {
      if (left <= 0) Object.assign(r, { state: 'committed', endedAt: new Date().toISOString() });
      busyReads.set(r.id, left - 1);
    }
    return r;
  });
  app.get('/v1/health', async (): Promise<UpdaterStatus> => ({
    status: 'ok', version: '0.1.0', pid: process.pid, startedAt: new Date().toISOString(), active: fake.active ? ref(fake.active) : null,
    prev: fake.prev ? ref(fake.prev) : null, running: null, lastOperation: null, agent: null, badReleases: [],
  }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  fake.address = `127.0.0.1:${(app.server.address() as { port: number }).port}`;
  return fake;
}

/** Releases as files in a directory (`<id>.tar.gz`), resolved by id, 8+ hex prefix or version. */
export class DirectoryReleaseSource implements ReleaseSource {
  readonly #dir: string;
  readonly #releases = new Map<string, ReleaseMeta & { path: string }>();

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Store bytes as a release (the fake updater never unpacks them) and return its id. */
  async add(version: string, bytes: Buffer = Buffer.from(`release ${version} ${Math.random()}`), signature: string | null = null): Promise<ReleaseMeta & { path: string }> {
    const id = createHash('sha256').update(bytes).digest('hex');
    const path = join(this.#dir, `${id}.tar.gz`);
    await writeFile(path, bytes);
    const file = { id, version, size: bytes.length, signature, path };
    this.#releases.set(id, file);
    return file;
  }

  async resolve(refText: string): Promise<{ id: string; version: string }> {
    const all = [...this.#releases.values()];
    const found = all.filter((r) => r.id === refText || (refText.length >= 8 && r.id.startsWith(refText)) || r.version === refText);
    if (found.length !== 1) throw sharedError('SWARM_ERR_NOT_FOUND', `no single release matches ${refText}`);
    return { id: found[0]!.id, version: found[0]!.version };
  }

  async openBody(id: string): Promise<{ release: ReleaseMeta; body: ReleaseBody }> {
    const r = this.#releases.get(id);
    if (!r) throw sharedError('SWARM_ERR_NOT_FOUND', `no release ${id}`);
    return { release: r, body: fileBody(r.path, r) };
  }
}
