// The updater's HTTPS API (mTLS, controller/operator only): update, rollback, self-update, releases, operations, health.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { identityGuard, parseInput } from '../shared/http.js';
import { spiffeUri } from '../shared/identity.js';
import { LIMITS } from '../shared/limits.js';
import { printableString } from '../shared/printable.js';
import { createHttpsApp } from '../shared/server.js';
import type { TlsMaterial } from '../shared/tls.js';
import type { Logger } from '../shared/logger.js';
import { OperationKindSchema, type OperationRecord } from '../shared/wire.js';
import { authorizeUpdaterRoute } from './authorize.js';
import type { Updater, UpdateRequest } from './engine.js';
import { updaterError } from './errors.js';
import { RELEASE_QUERY } from './install/index.js';
import type { ReleaseStoreLike } from './release-port.js';
import { DEFAULT_UPLOAD_PACE, paceUpload, type UploadPace } from './upload-pace.js';

export interface UpdaterAppDeps {
  material: TlsMaterial;
  logger: Logger;
  updater: Updater;
  store: ReleaseStoreLike;
  operations: {
    get(id: string): Promise<OperationRecord | undefined>;
    latest(): Promise<OperationRecord | undefined>;
    list(filter: { limit?: number; releaseId?: string; kind?: OperationRecord['kind'] }): Promise<OperationRecord[]>;
  };
  /** Installs a new updater and hands over to it (202), or refuses when no supervisor runs us. */
  selfUpdate?: (req: UpdateRequest) => Promise<OperationRecord>;
  isRevoked?: (serial: string) => boolean;
  /**
   * Socket inactivity limit. An update answers only when it has ended (probe deadline + watch window + a
   * rollback), and the connection is silent meanwhile: this must outlast that, or the answer is lost.
   */
  connectionTimeoutMs?: number;
  /** Minimum rate and deadline of a release body (config `upload`; default shared/limits.ts). */
  uploadPace?: UploadPace;
}

const UploadHeadersSchema = z.object({
  'x-swarm-release-sha256': z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be the 64 lowercase hex SHA-256 of the tarball' }),
  'x-swarm-release-signature': z.string().max(512).regex(/^[A-Za-z0-9+/]+={0,2}$/, { message: 'must be base64' }).optional(),
});

const OperationsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  release: z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be a release id (64 lowercase hex)' }).optional(),
  kind: OperationKindSchema.optional(),
}).strict();
/** The optional body of POST /v1/rollback: why, in the caller's words (recorded, reported, shown to operators). */
export const RollbackBodySchema = z.object({ reason: printableString(LIMITS['updater.rollback.reason-chars'].value).min(1).optional() }).strict();

const ReleaseQueryParamsSchema = z.object({ id: z.string().regex(RELEASE_QUERY, { message: 'must be a release id or a prefix of at least 8 lowercase hex digits' }) });

const OperationParamsSchema = z.object({ id: z.string().regex(/^[a-z-]+-[0-9a-z]+$/, { message: 'is not an operation id' }).max(100) });

export async function buildUpdaterApp(deps: UpdaterAppDeps): Promise<FastifyInstance> {
  const app = await createHttpsApp({
    material: deps.material, logger: deps.logger, clientCert: 'required',
    ...(deps.connectionTimeoutMs !== undefined ? { connectionTimeoutMs: deps.connectionTimeoutMs } : {}),
  });
  await app.register(async (api) => {
    api.addHook('onRequest', identityGuard({
      cluster: deps.material.identity.cluster,
      authorize: (identity, req) => authorizeUpdaterRoute(identity, req.method, req.routeOptions.url),
      ...(deps.isRevoked ? { isRevoked: deps.isRevoked } : {}),
    }));
    // The tarball is streamed to the installer as it arrives: never buffered here.
    api.addContentTypeParser('application/gzip', (_req, payload, done) => done(null, payload));
    api.addContentTypeParser('*', (_req, _payload, done) => done(updaterError('SWARM_ERR_UPDATER_CONTENT_TYPE', 'send the release as the raw body with Content-Type: application/gzip'), undefined));

    // Checked before any body parser runs: a JSON or form body must not even be parsed here.
    const requireGzip = async (req: { headers: Record<string, unknown> }): Promise<void> => {
      const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/gzip') throw updaterError('SWARM_ERR_UPDATER_CONTENT_TYPE', `send the release as the raw body with Content-Type: application/gzip (got "${type || 'none'}")`);
    };

    const pace = deps.uploadPace ?? DEFAULT_UPLOAD_PACE;
    api.post('/v1/update', { preParsing: requireGzip }, async (req, reply) => {
      const upload = readUpload(req.headers, req.body, req.raw, pace);
      try {
        return sendOutcome(reply, await deps.updater.update(upload));
      } catch (err) {
        throw closeIfUnread(err, req.raw, reply);
      } finally {
        upload.dispose();
      }
    });

    api.post('/v1/self-update', { preParsing: requireGzip }, async (req, reply) => {
      if (!deps.selfUpdate) throw updaterError('SWARM_ERR_UPDATER_SELF_UPDATE_UNSUPERVISED', 'self-update needs the supervisor: run `swarm-updater run --supervise`');
      const upload = readUpload(req.headers, req.body, req.raw, pace);
      try {
        const record = await deps.selfUpdate(upload);
        return reply.code(record.state === 'running' ? 202 : record.state === 'committed' ? 200 : 409).send(record);
      } catch (err) {
        throw closeIfUnread(err, req.raw, reply);
      } finally {
        upload.dispose();
      }
    });

    // A rollback is 200 once the host is back on an older release, also when it was an update cut short by this request.
    api.post('/v1/rollback', async (req, reply) => {
      const { reason } = parseInput(RollbackBodySchema, req.body ?? {}, 'body');
      const record = await deps.updater.rollback({ requestedBy: spiffeUri(req.peer!.identity), ...(reason ? { reason } : {}) });
      return record.state === 'rolled-back' ? reply.code(200).send(record) : sendOutcome(reply, record);
    });

    api.get('/v1/releases', async () => {
      const list = await deps.store.list();
      return list.map((r) => ({ id: r.id, version: r.version, dir: r.dirName, active: r.active, prev: r.prev, bad: r.bad }));
    });

    api.get('/v1/operations', async (req) => {
      const q = parseInput(OperationsQuerySchema, req.query, 'query');
      return deps.operations.list({ limit: q.limit, ...(q.release ? { releaseId: q.release } : {}), ...(q.kind ? { kind: q.kind } : {}) });
    });

    // Clear a bad mark (the release becomes installable again); 404 when none matches, 409 when the prefix is ambiguous.
    api.delete('/v1/releases/:id/bad', async (req) => {
      const { id } = parseInput(ReleaseQueryParamsSchema, req.params, 'params');
      const mark = await deps.updater.unmarkBad(id, spiffeUri(req.peer!.identity));
      return { id: mark.id, bad: false };
    });

    api.get('/v1/operations/latest', async () => {
      const r = await deps.operations.latest();
      if (!r) throw updaterError('SWARM_ERR_UPDATER_OPERATION_NOT_FOUND', 'no operation has run on this host yet');
      return r;
    });

    api.get('/v1/operations/:id', async (req) => {
      const { id } = parseInput(OperationParamsSchema, req.params, 'params');
      const r = await deps.operations.get(id);
      if (!r) throw updaterError('SWARM_ERR_UPDATER_OPERATION_NOT_FOUND', `no operation ${id} on this host`);
      return r;
    });

    api.get('/v1/health', async () => deps.updater.status());
  });
  return app;
}

type RawRequest = NodeJS.ReadableStream & { complete?: boolean; destroyed?: boolean; once(e: 'close', l: () => void): unknown };

function readUpload(headers: unknown, body: unknown, raw: RawRequest, pace: UploadPace): UpdateRequest & { dispose(): void } {
  const h = parseInput(UploadHeadersSchema, headers, 'headers');
  const stream = body as Readable | undefined;
  if (!stream || typeof stream.pipe !== 'function') throw updaterError('SWARM_ERR_UPDATER_CONTENT_TYPE', 'send the release as the raw body with Content-Type: application/gzip');
  // A client that leaves, stalls or trickles before the whole body arrived cancels the install; after that, the operation goes on.
  const ac = new AbortController();
  const gone = (): void => {
    if (!raw.complete) ac.abort(updaterError('SWARM_ERR_UPDATER_UPLOAD_ABORTED', 'the client closed the connection before the whole release arrived'));
  };
  // The body's read fails ('aborted') as the connection goes: say why at once, whichever the installer hears first. A
  // connection already gone before this handler ran (a loaded host) emits nothing more.
  raw.once('close', gone);
  stream.once('error', gone);
  if (raw.destroyed) gone();
  const paced = paceUpload(stream, pace, (reason) => ac.abort(reason));
  return {
    body: paced.body, id: h['x-swarm-release-sha256'], ...(h['x-swarm-release-signature'] ? { signature: h['x-swarm-release-signature'] } : {}), signal: ac.signal,
    dispose: paced.dispose,
  };
}

/** A refusal answered before the whole body came (a stalled sender): close the connection after the answer instead of waiting for the rest. */
function closeIfUnread(err: unknown, raw: RawRequest, reply: FastifyReply): unknown {
  if (!raw.complete) reply.header('connection', 'close');
  return err;
}

/** 200 committed; 409 rolled back; 500 when nothing became healthy. The record always comes back. */
function sendOutcome(reply: FastifyReply, record: OperationRecord): FastifyReply {
  if (record.state === 'committed' || (record.kind === 'rollback' && record.state === 'rolled-back')) return reply.code(200).send(record);
  const status = record.state === 'rolled-back' ? 409 : 500;
  return reply.code(status).send({ ...record, code: record.error?.code ?? 'SWARM_ERR_UPDATER_AGENT_UNHEALTHY', message: record.error?.message ?? `operation ${record.id} ended ${record.state}` });
}
