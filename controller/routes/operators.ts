// Operator routes for operators themselves, certificates, the fleet summary and the audit log.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { verifyCsr } from '../../pki/index.js';
import { parseInput } from '../../shared/http.js';
import { AddOperatorRequestSchema, type AuditEntryView, type OperatorIssued, type RemoveResponse } from '../../shared/operator-api.js';
import { isRole } from '../../shared/identity.js';
import { NAME_PATTERN, RESERVED_NAMES } from '../../shared/names.js';
import { audit, revokeIdentities, type ControllerContext } from '../context.js';
import { controllerError } from '../errors.js';
import { fleetStatus } from '../fleet.js';
import { currentCertificates, viewCertificate } from '../host-view.js';

const NameParams = z.object({ name: z.string().regex(NAME_PATTERN, 'must be an operator name') });
const CertQuery = z.object({ role: z.string().refine(isRole, 'must be a role').optional(), name: z.string().optional(), all: z.enum(['true', 'false']).optional() });
const AuditQuery = z.object({
  after: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  /** Newest first by default: on a busy controller today's actions must show. `asc` is for following. */
  order: z.enum(['asc', 'desc']).default('desc'),
});


const operatorExists = (name: string) =>
  controllerError('SWARM_ERR_OPERATOR_EXISTS', `operator "${name}" already holds a valid certificate; remove it first (swarmctl operator remove ${name})`);

export function operatorRoutes(ctx: ControllerContext) {
  return async function register(app: FastifyInstance): Promise<void> {
    const activeOperator = async (name: string): Promise<boolean> => {
      const now = ctx.clock.now();
      return (await ctx.store.listCertificates({ role: 'operator', name })).some((c) => c.revokedAt === null && c.notAfter > now);
    };

    app.post('/operators', async (req, reply) => {
      const body = parseInput(AddOperatorRequestSchema, req.body, 'body');
      if (!NAME_PATTERN.test(body.name) || (RESERVED_NAMES.has(body.name) && body.name !== 'admin')) {
        throw controllerError('SWARM_ERR_HOST_NAME_INVALID', `operator name "${body.name}" must be 1-63 lowercase letters, digits or '-' and not reserved`);
      }
      if (await activeOperator(body.name)) throw operatorExists(body.name);
      const csr = verifyCsr(body.csr);
      // Checked again where the certificate is recorded: two concurrent adds of one name must not both succeed.
      const outcome = await ctx.issuer.issueGuarded('operator', body.name, csr.publicKeyPem, { vacantAt: ctx.clock.now() });
      if (!outcome.ok) throw operatorExists(body.name);
      const { issued } = outcome;
      await audit(ctx, req, 'operator.add', body.name, { serial: issued.serial });
      return reply.code(201).send({ name: body.name, cert: issued.certPem, ca: ctx.issuer.ca.certPem, notAfter: new Date(issued.notAfter).toISOString() } satisfies OperatorIssued);
    });

    app.delete('/operators/:name', async (req) => {
      const { name } = parseInput(NameParams, req.params, 'params');
      if (req.peer?.identity.name === name) throw controllerError('SWARM_ERR_OPERATOR_SELF_REMOVE', `you are operator "${name}"; remove it with another operator identity`);
      const certs = (await ctx.store.listCertificates({ role: 'operator', name })).filter((c) => c.revokedAt === null);
      if (certs.length === 0) throw controllerError('SWARM_ERR_OPERATOR_NOT_FOUND', `no operator named "${name}" holds a certificate; see swarmctl cert list`);
      const revoked = await revokeIdentities(ctx, [{ role: 'operator', name }]);
      await audit(ctx, req, 'operator.remove', name, { revoked });
      return { name, removed: true, revoked } satisfies RemoveResponse;
    });

    app.get('/certificates', async (req) => {
      const q = parseInput(CertQuery, req.query, 'query');
      const filter = { ...(q.role ? { role: q.role as never } : {}), ...(q.name ? { name: q.name } : {}) };
      const all = await ctx.store.listCertificates(filter);
      // By default the certificates in force: newest unrevoked per identity, plus every revoked one.
      const shown = q.all === 'true' ? all : [...currentCertificates(all), ...all.filter((c) => c.revokedAt !== null)];
      const now = ctx.clock.now();
      return shown
        .sort((a, b) => a.role.localeCompare(b.role) || a.name.localeCompare(b.name) || a.issuedAt - b.issuedAt)
        .map((c) => viewCertificate(ctx.cluster, c, now));
    });

    app.get('/status', async () => fleetStatus(ctx));

    app.get('/audit', async (req) => {
      const q = parseInput(AuditQuery, req.query, 'query');
      return (await ctx.store.listAudit({
        order: q.order,
        ...(q.after !== undefined ? { afterId: q.after } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
        ...(q.since !== undefined ? { sinceMs: Date.parse(q.since) } : {}),
      }))
        .map((e): AuditEntryView => ({ ...e, at: new Date(e.at).toISOString() }));
    });
  };
}
