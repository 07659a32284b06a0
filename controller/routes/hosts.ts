// Operator routes for the host registry: add (join token), list, show, label, remove (revocation).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DEFAULT_PORTS } from '../../shared/defaults.js';
import { parseInput } from '../../shared/http.js';
import { LIMITS } from '../../shared/limits.js';
import { checkNewHostName, NAME_PATTERN } from '../../shared/names.js';
import { LABEL_KEY, LABEL_VALUE, matchesSelector, parseSelector } from '../../shared/selector.js';
import { audit, revokeIdentities, type ControllerContext } from '../context.js';
import { controllerError } from '../errors.js';
import { listHostViews, viewHost } from '../fleet.js';
import { viewCertificate } from '../host-view.js';
import { generateJoinToken, hashJoinToken } from '../tokens.js';

const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253})(:\d{1,5})?$/;
/** HOST[:PORT] with a port from 1 to 65535 (a port past the range was stored and failed every push). */
const AddressSchema = z.string().regex(ADDRESS, 'must be HOST[:PORT]').refine((a) => {
  const port = /:(\d{1,5})$/.exec(a)?.[1];
  return port === undefined || /^[0-9a-fA-F:]+$/.test(a) || (Number(port) >= 1 && Number(port) <= 65535);
}, 'the port must be from 1 to 65535');

const LabelsSchema = z.record(z.string().max(256), z.string().max(256));
const AddHostSchema = z.object({
  name: z.string(),
  address: AddressSchema.optional(),
  labels: LabelsSchema.optional(),
  /** How long the join token lasts (default: the controller's, 15 minutes). */
  tokenTtlMs: z.number().int().min(LIMITS['join.tokenTtlMin'].value).max(LIMITS['join.tokenTtlMax'].value).optional(),
}).strict();
const AddressBodySchema = z.object({ address: AddressSchema.nullable() }).strict();
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

/** The updater's address with its default port (DEFAULT_PORTS.updater, 8766) when left out. */
export function normalizeAddress(address: string): string {
  return /:\d{1,5}$/.test(address) && !/^[0-9a-fA-F:]+$/.test(address) ? address : `${address}:${DEFAULT_PORTS.updater}`;
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
      const expiresAt = now + (body.tokenTtlMs ?? ctx.settings.joinTokenTtlMs);
      ctx.store.insertJoinToken({ hash: hashJoinToken(token), hostName: body.name, createdAt: now, expiresAt, usedAt: null });
      audit(ctx, req, 'host.add', body.name, { address: record.address, labels: record.labels, expiresAt: new Date(expiresAt).toISOString() });
      return reply.code(201).send({ name: body.name, token, caHash: ctx.issuer.ca.fingerprint, expiresAt: new Date(expiresAt).toISOString() });
    });

    app.get('/hosts', async (req) => {
      const q = parseInput(z.object({ selector: z.string().max(1024).optional() }), req.query, 'query');
      const views = listHostViews(ctx);
      if (q.selector === undefined) return views;
      const terms = parseSelector(q.selector);
      if (typeof terms === 'string') throw controllerError('SWARM_ERR_LABEL_INVALID', `selector: ${terms}`);
      return views.filter((h) => matchesSelector(h.labels, terms));
    });

    app.patch('/hosts/:name/address', async (req) => {
      const { name } = parseInput(NameParams, req.params, 'params');
      const body = parseInput(AddressBodySchema, req.body, 'body');
      const host = mustFind(name);
      const address = body.address === null ? null : normalizeAddress(body.address);
      ctx.store.setHostAddress(name, address);
      audit(ctx, req, 'host.address', name, { from: host.address, to: address });
      return viewHost(ctx, { ...host, address });
    });

    app.get('/tokens', async () => ctx.store.listPendingTokens(ctx.clock.now()).map((t) => ({
      name: t.hostName, createdAt: new Date(t.createdAt).toISOString(), expiresAt: new Date(t.expiresAt).toISOString(),
    })));

    app.delete('/tokens/:name', async (req) => {
      const { name } = parseInput(NameParams, req.params, 'params');
      const revoked = ctx.store.deleteUnusedTokens(name);
      if (revoked === 0) throw controllerError('SWARM_ERR_TOKEN_NOT_FOUND', `no pending join token for "${name}"; see swarmctl token list`);
      audit(ctx, req, 'token.revoke', name, { tokens: revoked });
      return { name, revoked };
    });

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
