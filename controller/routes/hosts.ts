// Operator routes for the host registry: add (join token), list, show, label, remove (revocation).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseInput } from '../../shared/http.js';
import { checkNewHostName, NAME_PATTERN } from '../../shared/names.js';
import { audit, revokeIdentities, type ControllerContext } from '../context.js';
import { controllerError } from '../errors.js';
import { listHostViews, viewHost } from '../fleet.js';
import { viewCertificate } from '../host-view.js';
import { generateJoinToken, hashJoinToken } from '../tokens.js';

export const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
export const LABEL_VALUE = /^[A-Za-z0-9._-]{0,63}$/;
const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253})(:\d{1,5})?$/;

const LabelsSchema = z.record(z.string().max(256), z.string().max(256));
const AddHostSchema = z.object({
  name: z.string(),
  address: z.string().regex(ADDRESS, 'must be HOST[:PORT]').optional(),
  labels: LabelsSchema.optional(),
}).strict();
const NameParams = z.object({ name: z.string().regex(NAME_PATTERN, 'must be a host name') });
const LabelSchema = z.object({ set: LabelsSchema.default({}), remove: z.array(z.string().max(256)).default([]) }).strict();

/** Refuse a label that selectors could not address: SWARM_ERR_LABEL_INVALID naming it. */
export function checkLabels(labels: Record<string, string>, removeKeys: readonly string[] = []): void {
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY.test(k) || !LABEL_VALUE.test(v)) {
      throw controllerError('SWARM_ERR_LABEL_INVALID', `label "${k}=${v}" is invalid: keys are letters, digits and . _ / - (up to 63), values letters, digits and . _ - (up to 63)`);
    }
  }
  for (const k of removeKeys) if (!LABEL_KEY.test(k)) throw controllerError('SWARM_ERR_LABEL_INVALID', `label key "${k}" is invalid`);
}

/** The updater's address with its default port (8766) when left out. */
export function normalizeAddress(address: string): string {
  return /:\d{1,5}$/.test(address) && !/^[0-9a-fA-F:]+$/.test(address) ? address : `${address}:8766`;
}

export function hostRoutes(ctx: ControllerContext) {
  return async function register(app: FastifyInstance): Promise<void> {
    const mustFind = (name: string) => {
      const host = ctx.store.getHost(name);
      if (!host || host.removedAt !== null) throw controllerError('SWARM_ERR_HOST_NOT_FOUND', `no host named "${name}"; see swarmctl host list`);
      return host;
    };

    app.post('/hosts', async (req, reply) => {
      const body = parseInput(AddHostSchema, req.body, 'body');
      checkLabels(body.labels ?? {});
      const bad = checkNewHostName(body.name);
      if (bad) throw controllerError('SWARM_ERR_HOST_NAME_INVALID', bad);
      const existing = ctx.store.getHost(body.name);
      if (existing && existing.removedAt === null && existing.enrolledAt !== null) {
        throw controllerError('SWARM_ERR_HOST_EXISTS', `host "${body.name}" is already enrolled; remove it first (swarmctl host remove ${body.name})`);
      }
      const now = ctx.clock.now();
      const record = { name: body.name, address: body.address ? normalizeAddress(body.address) : null, labels: body.labels ?? {}, createdAt: now };
      if (existing) {
        // A pending host gets a fresh token (the old ones stop working); a removed name is reopened.
        ctx.store.deleteUnusedTokens(body.name);
        ctx.store.reviveHost(record);
      } else {
        ctx.store.insertHost(record);
      }
      const token = generateJoinToken(body.name);
      const expiresAt = now + ctx.settings.joinTokenTtlMs;
      ctx.store.insertJoinToken({ hash: hashJoinToken(token), hostName: body.name, createdAt: now, expiresAt, usedAt: null });
      audit(ctx, req, 'host.add', body.name, { address: record.address, labels: record.labels, expiresAt: new Date(expiresAt).toISOString() });
      return reply.code(201).send({ name: body.name, token, caHash: ctx.issuer.ca.fingerprint, expiresAt: new Date(expiresAt).toISOString() });
    });

    app.get('/hosts', async () => listHostViews(ctx));

    app.get('/hosts/:name', async (req) => {
      const { name } = parseInput(NameParams, req.params, 'params');
      const host = mustFind(name);
      const certs = [...ctx.store.listCertificates({ role: 'updater', name }), ...ctx.store.listCertificates({ role: 'agent', name })];
      const reports = ctx.reports.get(name);
      return {
        ...viewHost(ctx, host, certs),
        certificates: certs.map((c) => viewCertificate(ctx.cluster, c, ctx.clock.now())),
        reports: { agent: reports?.agent?.report ?? null, updater: reports?.updater?.report ?? null },
      };
    });

    app.patch('/hosts/:name/labels', async (req) => {
      const { name } = parseInput(NameParams, req.params, 'params');
      const body = parseInput(LabelSchema, req.body, 'body');
      checkLabels(body.set, body.remove);
      const host = mustFind(name);
      const labels = { ...host.labels, ...body.set };
      for (const k of body.remove) delete labels[k];
      ctx.store.setHostLabels(name, labels);
      audit(ctx, req, 'host.label', name, { set: body.set, remove: body.remove });
      return viewHost(ctx, { ...host, labels });
    });

    app.delete('/hosts/:name', async (req) => {
      const { name } = parseInput(NameParams, req.params, 'params');
      mustFind(name);
      ctx.store.markHostRemoved(name, ctx.clock.now());
      ctx.store.deleteUnusedTokens(name);
      const revoked = await revokeIdentities(ctx, [{ role: 'updater', name }, { role: 'agent', name }]);
      ctx.reports.forget(name);
      audit(ctx, req, 'host.remove', name, { revoked });
      return { name, removed: true, revoked };
    });
  };
}
