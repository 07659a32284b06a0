// Routes without a client certificate: health, the CA and CRL (public by nature), and rate-limited enrollment.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { verifyCsr, pkiError } from '../../pki/index.js';
import { EnrollRequestSchema, nameFromJoinToken, type EnrollResponse } from '../../shared/enroll-protocol.js';
import { parseInput } from '../../shared/http.js';
import { LIMITS } from '../../shared/limits.js';
import { checkNewHostName } from '../../shared/names.js';
import { controllerError } from '../errors.js';
import type { ControllerContext } from '../context.js';
import { EnrollBudget } from '../enroll-budget.js';
import { hashJoinToken } from '../tokens.js';

export interface EnrollLimits {
  /** Enrollment attempts per client IP per window. */
  max: number;
  windowMs: number;
  /** Enrollment attempts from all clients together per window (default LIMITS enroll.global-per-minute). */
  globalMax?: number;
}

const GENERIC_REFUSAL = 'enrollment refused: this join token is not valid for this host; ask an operator for a new one (swarmctl host add NAME)';

export function publicRoutes(ctx: ControllerContext, limits: EnrollLimits) {
  const budget = new EnrollBudget(limits.globalMax ?? LIMITS['enroll.global-per-minute'].value, limits.windowMs, () => ctx.clock.now());
  return async function register(app: FastifyInstance): Promise<void> {
    app.get('/healthz', async () => ({ status: 'ok' }));

    app.get('/v1/pki/ca', async (_req, reply) => reply.type('application/x-pem-file').send(ctx.issuer.ca.certPem));

    app.get('/v1/pki/crl', async (_req, reply) => reply.type('application/x-pem-file').send(ctx.crl.pem));

    // The per-address limit answers first (onRequest), so one noisy address does not spend the global budget.
    const globalLimit = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const waitMs = budget.take();
      if (waitMs === 0) return;
      ctx.metrics.enrollments.refused++;
      req.log.warn({ op: 'enroll', ip: req.ip, reason: 'global-budget' }, 'enrollment refused: the global enrollment budget is spent');
      void reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
      throw controllerError('SWARM_ERR_ENROLL_BUSY', `the controller is taking the most enrollments it accepts from all clients together; retry in ${Math.ceil(waitMs / 1000)} s`);
    };
    app.post('/v1/enroll', { bodyLimit: 256 * 1024, preHandler: globalLimit, config: { rateLimit: { max: limits.max, timeWindow: limits.windowMs } } }, async (req) => {
      const body = parseInput(EnrollRequestSchema, req.body, 'body');
      const refuse = (reason: string): never => {
        ctx.metrics.enrollments.refused++;
        // The real reason goes to the log only: an attacker learns nothing about which check failed.
        req.log.warn({ op: 'enroll', host: body.name, reason, ip: req.ip }, 'enrollment refused');
        throw controllerError('SWARM_ERR_ENROLL_REFUSED', GENERIC_REFUSAL);
      };
      // CSRs first: their errors say nothing about tokens.
      let updaterCsr;
      let agentCsr;
      try {
        updaterCsr = verifyCsr(body.updaterCsr);
        agentCsr = verifyCsr(body.agentCsr);
      } catch (err) {
        ctx.metrics.enrollments.refused++;
        req.log.warn({ op: 'enroll', host: body.name, ip: req.ip, err }, 'enrollment refused: bad CSR');
        throw err;
      }
      if (updaterCsr.publicKeyPem === agentCsr.publicKeyPem) {
        ctx.metrics.enrollments.refused++;
        throw pkiError('SWARM_ERR_CSR_INVALID', 'the updater and agent CSRs carry the same key; each identity needs its own key');
      }
      if (nameFromJoinToken(body.token) === undefined) refuse('malformed-token');
      if (nameFromJoinToken(body.token) !== body.name) refuse('name-mismatch');
      if (checkNewHostName(body.name) !== undefined) refuse('reserved-name');
      const consumed = await ctx.store.consumeJoinToken(hashJoinToken(body.token), body.name, ctx.clock.now());
      if (!consumed.ok) refuse(consumed.reason);
      // Recorded only while the host is still enrolled: a removal racing this request leaves no valid certificate.
      const updaterOutcome = await ctx.issuer.issueGuarded('updater', body.name, updaterCsr.publicKeyPem, { host: 'enrolled' });
      if (!updaterOutcome.ok) return refuse(updaterOutcome.reason);
      const agentOutcome = await ctx.issuer.issueGuarded('agent', body.name, agentCsr.publicKeyPem, { host: 'enrolled' });
      if (!agentOutcome.ok) return refuse(agentOutcome.reason);
      const updater = updaterOutcome.issued;
      const agent = agentOutcome.issued;
      ctx.metrics.enrollments.ok++;
      await ctx.store.appendAudit({
        at: ctx.clock.now(), actor: `spiffe://${ctx.cluster}/updater/${body.name}`, action: 'host.enroll', target: body.name,
        details: { ip: req.ip, serials: [updater.serial, agent.serial] },
      });
      req.log.info({ op: 'enroll', host: body.name, ip: req.ip }, 'host enrolled');
      const res: EnrollResponse = { cluster: ctx.cluster, name: body.name, ca: ctx.issuer.ca.certPem, updater: updater.certPem, agent: agent.certPem };
      return res;
    });
  };
}
