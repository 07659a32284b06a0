// Operator routes for the host registry: add (join token), list, show, label, remove (revocation).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DEFAULT_PORTS } from '../../shared/defaults.js';
import { parseInput } from '../../shared/http.js';
import {
  AddHostRequestSchema, LabelRequestSchema, SetAddressRequestSchema,
  type AddHostResponse, type HostDetail, type RemoveResponse, type RevokeTokensResponse, type TokenView,
} from '../../shared/operator-api.js';
import { checkNewHostName, NAME_PATTERN } from '../../shared/names.js';
import { LABEL_KEY, LABEL_VALUE, matchesSelector, parseSelector } from '../../shared/selector.js';
import { audit, revokeIdentities, type ControllerContext } from '../context.js';
import { controllerError } from '../errors.js';
import { listHostViews, viewHost } from '../fleet.js';
import { viewCertificate } from '../host-view.js';
import { generateJoinToken, hashJoinToken } from '../tokens.js';

const NameParams = z.object({ name: z.string().regex(NAME_PATTERN, 'must be a host name') });

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
    const notFound = (name: string) => controllerError('SWARM_ERR_HOST_NOT_FOUND', `no host named "${name}"; see swarmctl host list`);
    const mustFind = async (name: string) => {
      const host = await ctx.store.getHost(name);
      if (!host || host.removedAt !== null) throw notFound(name);
      return host;
    };

    app.post('/hosts', async (req, reply) => {
      const body = parseInput(AddHostRequestSchema, req.body, 'body');
      checkLabels(body.labels ?? {});
      const bad = checkNewHostName(body.name);
      if (bad) throw controllerError('SWARM_ERR_HOST_NAME_INVALID', bad);
      const now = ctx.clock.now();
      const record = { name: body.name, address: body.address ? normalizeAddress(body.address) : null, labels: body.labels ?? {}, createdAt: now };
      const token = generateJoinToken(body.name);
      const expiresAt = now + (body.tokenTtlMs ?? ctx.settings.joinTokenTtlMs);
      // One transaction: an enrollment racing this add cannot be undone by it (see Store.registerHost).
      const registered = await ctx.store.registerHost(record, { hash: hashJoinToken(token), hostName: body.name, createdAt: now, expiresAt, usedAt: null });
      if (!registered.ok) {
        throw controllerError('SWARM_ERR_HOST_EXISTS', `host "${body.name}" is already enrolled; remove it first (swarmctl host remove ${body.name})`);
      }
      await audit(ctx, req, 'host.add', body.name, { address: record.address, labels: record.labels, expiresAt: new Date(expiresAt).toISOString() });
      return reply.code(201).send({ name: body.name, token, caHash: ctx.issuer.ca.fingerprint, expiresAt: new Date(expiresAt).toISOString() } satisfies AddHostResponse);
    });

    app.get('/hosts', async (req) => {
      const q = parseInput(z.object({ selector: z.string().max(1024).optional() }), req.query, 'query');
      const views = await listHostViews(ctx);
      if (q.selector === undefined) return views;
      const terms = parseSelector(q.selector);
      if (typeof terms === 'string') throw controllerError('SWARM_ERR_LABEL_INVALID', `selector: ${terms}`);
      return views.filter((h) => matchesSelector(h.labels, terms));
    });

    app.patch('/hosts/:name/address', async (req) => {
      const { name } = parseInput(NameParams, req.params, 'params');
      const body = parseInput(SetAddressRequestSchema, req.body, 'body');
      const host = await mustFind(name);
      const address = body.address === null ? null : normalizeAddress(body.address);
      await ctx.store.setHostAddress(name, address);
      await audit(ctx, req, 'host.address', name, { from: host.address, to: address });
      return viewHost(ctx, { ...host, address });
    });

    app.get('/tokens', async () => (await ctx.store.listPendingTokens(ctx.clock.now())).map((t): TokenView => ({
      name: t.hostName, createdAt: new Date(t.createdAt).toISOString(), expiresAt: new Date(t.expiresAt).toISOString(),
    })));

    app.delete('/tokens/:name', async (req) => {
      const { name } = parseInput(NameParams, req.params, 'params');
      const revoked = await ctx.store.deleteUnusedTokens(name);
      if (revoked === 0) throw controllerError('SWARM_ERR_TOKEN_NOT_FOUND', `no pending join token for "${name}"; see swarmctl token list`);
      await audit(ctx, req, 'token.revoke', name, { tokens: revoked });
      return { name, revoked } satisfies RevokeTokensResponse;
    });

    app.get('/hosts/:name', async (req) => {
      const { name } = parseInput(NameParams, req.params, 'params');
      const host = await mustFind(name);
      const certs = [...await ctx.store.listCertificates({ role: 'updater', name }), ...await ctx.store.listCertificates({ role: 'agent', name })];
      const view = await viewHost(ctx, host, certs);
      const reports = ctx.reports.get(name);
      return {
        ...view,
        certificates: certs.map((c) => viewCertificate(ctx.cluster, c, ctx.clock.now())),
        reports: { agent: reports?.agent?.report ?? null, updater: reports?.updater?.report ?? null },
      } satisfies HostDetail;
    });

    app.patch('/hosts/:name/labels', async (req) => {
      const { name } = parseInput(NameParams, req.params, 'params');
      const body = parseInput(LabelRequestSchema, req.body, 'body');
      checkLabels(body.set, body.remove);
      // Read, change and write in one store transaction: two concurrent edits must not lose one.
      const host = await ctx.store.changeHostLabels(name, { set: body.set, remove: body.remove });
      if (!host) throw notFound(name);
      await audit(ctx, req, 'host.label', name, { set: body.set, remove: body.remove });
      return viewHost(ctx, host);
    });

    app.delete('/hosts/:name', async (req) => {
      const { name } = parseInput(NameParams, req.params, 'params');
      // Its unused tokens go in the same transaction: a token from an add racing this removal must survive it.
      if (!(await ctx.store.removeHost(name, ctx.clock.now()))) throw notFound(name);
      const revoked = await revokeIdentities(ctx, [{ role: 'updater', name }, { role: 'agent', name }]);
      ctx.reports.forget(name);
      await audit(ctx, req, 'host.remove', name, { revoked });
      return { name, removed: true, revoked } satisfies RemoveResponse;
    });
  };
}
