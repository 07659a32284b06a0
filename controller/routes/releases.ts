// Operator routes of the release store: upload (streamed, inspected, stored once), list, show by RELEASE reference.
import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { parseInput } from '../../shared/http.js';
import { spiffeUri } from '../../shared/identity.js';
import { ReleaseDetailSchema, ReleaseSchema, type ReleaseJson } from '../../shared/rollout-api.js';
import { paceBody, type PaceRefusals } from '../../shared/upload-pace.js';
import { audit, type ControllerContext } from '../context.js';
import { controllerError } from '../errors.js';
import { listHostViews } from '../fleet.js';
import type { ReleaseStore } from '../releases/index.js';
import type { ReleaseRecord } from '../store/index.js';

const UploadHeadersSchema = z.object({
  'x-swarm-release-sha256': z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be the 64 lowercase hex SHA-256 of the tarball' }),
  'x-swarm-release-signature': z.string().max(512).regex(/^[A-Za-z0-9+/]+={0,2}$/, { message: 'must be base64' }).optional(),
});
const RefParams = z.object({ ref: z.string().min(1).max(128) });

const REFUSALS: PaceRefusals = {
  tooSlow: (rate, pace) => controllerError('SWARM_ERR_RELEASE_UPLOAD_TOO_SLOW', `the release arrived at ${rate} bytes/s over the last ${pace.windowMs} ms, below the minimum of ${pace.minBytesPerSecond} (controller.release.min-rate); nothing was stored, resend over a working link`),
  deadline: (received, pace) => controllerError('SWARM_ERR_RELEASE_UPLOAD_DEADLINE', `the release did not arrive within ${pace.deadlineMs} ms (controller.release.deadline; ${received} bytes came); nothing was stored`),
};

export function releaseJson(r: ReleaseRecord): ReleaseJson {
  return ReleaseSchema.parse({ ...r, uploadedAt: new Date(r.uploadedAt).toISOString() });
}

/** The release a RELEASE reference names, or SWARM_ERR_RELEASE_NOT_FOUND / _AMBIGUOUS listing the candidates. */
export async function resolveReleaseRef(ctx: ControllerContext, ref: string): Promise<ReleaseRecord> {
  const r = await ctx.store.resolveRelease(ref);
  if (r.ok) return r.release;
  if (r.reason === 'unknown') throw controllerError('SWARM_ERR_RELEASE_NOT_FOUND', `no release matches "${ref}" (an id, a unique prefix of 8+ hex, or a version); see swarmctl release list`);
  const list = r.candidates.slice(0, 10).map((c) => `${c.id.slice(0, 12)} (${c.name} ${c.version})`).join(', ');
  throw controllerError('SWARM_ERR_RELEASE_AMBIGUOUS', `"${ref}" matches ${r.candidates.length} releases: ${list}${r.candidates.length > 10 ? ', ...' : ''}; give more of the id`, {
    details: { candidates: r.candidates.map((c) => c.id) },
  });
}

export function releaseRoutes(ctx: ControllerContext, blobs: ReleaseStore) {
  return async function register(app: FastifyInstance): Promise<void> {
    // The tarball goes to the release store as it arrives: never buffered here (so no body limit applies; the store counts).
    app.addContentTypeParser('application/gzip', (_req, payload, done) => done(null, payload));
    const requireGzip = async (req: { headers: Record<string, unknown> }): Promise<void> => {
      const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/gzip') throw controllerError('SWARM_ERR_RELEASE_CONTENT_TYPE', `send the release as the raw body with Content-Type: application/gzip (got "${type || 'none'}")`);
    };

    app.post('/releases', { preParsing: requireGzip }, async (req, reply) => {
      const h = parseInput(UploadHeadersSchema, req.headers, 'headers');
      const ac = new AbortController();
      const raw = req.raw;
      raw.once('close', () => {
        if (!raw.complete) ac.abort(controllerError('SWARM_ERR_RELEASE_UPLOAD_ABORTED', 'the client closed the connection before the whole release arrived; nothing was stored'));
      });
      const paced = paceBody(req.body as Readable, blobs.limits.pace, REFUSALS, (reason) => ac.abort(reason));
      try {
        const actor = req.peer ? spiffeUri(req.peer.identity) : 'anonymous';
        const { release, created } = await blobs.upload({
          body: paced.body, id: h['x-swarm-release-sha256'], signal: ac.signal,
          ...(h['x-swarm-release-signature'] ? { signature: h['x-swarm-release-signature'] } : {}),
        }, actor, ctx.clock.now());
        await audit(ctx, req, 'release.upload', release.id, { name: release.name, version: release.version, size: release.size, signed: release.signature !== null, created });
        ctx.logger.info({ op: 'release.upload', release: release.id, version: release.version, created }, created ? 'stored a release' : 'release already stored');
        return reply.code(created ? 201 : 200).send(releaseJson(release));
      } catch (err) {
        // Refused before the whole body came (a stalled or oversized sender): close after answering, do not read the rest.
        if (!raw.complete) reply.header('connection', 'close');
        throw err;
      } finally {
        paced.dispose();
      }
    });

    app.get('/releases', async () => (await ctx.store.listReleases()).map(releaseJson));

    app.get('/releases/:ref', async (req) => {
      const { ref } = parseInput(RefParams, req.params, 'params');
      const release = await resolveReleaseRef(ctx, ref);
      const hosts = (await listHostViews(ctx)).filter((v) => v.release === release.id).map((v) => v.name);
      const rollouts = (await ctx.store.rolloutsUsingRelease(release.id)).map((r) => ({ id: r.id, state: r.state, createdAt: new Date(r.createdAt).toISOString() }));
      return ReleaseDetailSchema.parse({ ...releaseJson(release), hosts, rollouts });
    });
  };
}
