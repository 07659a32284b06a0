// Operator routes for rollouts and fleet rollback: plan, start, list, show, pause/resume/abort, events (a page or a
// live stream) and POST /v1/rollback, all on the RolloutService interface (the engine stands behind it).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { sharedError } from '../../shared/errors.js';
import { parseInput } from '../../shared/http.js';
import { spiffeUri } from '../../shared/identity.js';
import { LIMITS } from '../../shared/limits.js';
import { FleetRollbackBodySchema, ResumeBodySchema, StartRolloutBodySchema } from '../../shared/rollout-api.js';
import { audit, type ControllerContext } from '../context.js';
import { controllerError } from '../errors.js';
import type { RolloutService } from '../rollout/service.js';
import { openEventStream, resumeSeq, type StreamEvent, type StreamLimits } from './event-stream.js';

const IdParams = z.object({ id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a rollout id') });
const AfterQuery = z.object({ after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional() });

export interface RolloutRouteOptions {
  /** Heartbeat and per-client buffer of event streams (LIMITS by default; tests shorten them). */
  stream?: Partial<StreamLimits>;
}

export function rolloutRoutes(ctx: ControllerContext, options: RolloutRouteOptions = {}) {
  const limits: StreamLimits = {
    heartbeatMs: options.stream?.heartbeatMs ?? LIMITS['rollouts.sse-heartbeat'].value,
    maxBufferedBytes: options.stream?.maxBufferedBytes ?? LIMITS['rollouts.sse-client-buffer'].value,
  };
  return async function register(app: FastifyInstance): Promise<void> {
    const service = (): RolloutService => {
      if (!ctx.rollouts) throw controllerError('SWARM_ERR_ROLLOUTS_UNAVAILABLE', 'this controller runs without a rollout engine');
      return ctx.rollouts;
    };
    const actor = (req: FastifyRequest): string => (req.peer ? spiffeUri(req.peer.identity) : 'anonymous');
    const notFound = (id: string) => controllerError('SWARM_ERR_ROLLOUT_NOT_FOUND', `no rollout "${id}"; see swarmctl rollout list`);
    const mustGet = async (id: string) => {
      const r = await service().get(id);
      if (!r) throw notFound(id);
      return r;
    };
    // Open streams end before the server closes (fastify would otherwise wait on them).
    const streams = new Set<() => void>();
    app.addHook('preClose', async () => {
      for (const end of [...streams]) end();
    });

    app.post('/rollouts/plan', async (req) => service().plan(parseInput(StartRolloutBodySchema, req.body, 'body')));

    app.post('/rollouts', async (req, reply) => {
      const body = parseInput(StartRolloutBodySchema, req.body, 'body');
      const rollout = await service().start(body, actor(req));
      await audit(ctx, req, 'rollout.start', rollout.id, { release: rollout.release, version: rollout.version, kind: rollout.kind, targets: body.targets, strategy: rollout.strategy });
      return reply.code(201).send(rollout);
    });

    app.get('/rollouts', async () => service().list());

    app.get('/rollouts/:id', async (req) => mustGet(parseInput(IdParams, req.params, 'params').id));

    for (const action of ['pause', 'abort'] as const) {
      app.post(`/rollouts/:id/${action}`, async (req) => {
        const { id } = parseInput(IdParams, req.params, 'params');
        await mustGet(id);
        const rollout = await service()[action](id, actor(req));
        await audit(ctx, req, `rollout.${action}`, id, { state: rollout.state });
        return rollout;
      });
    }

    app.post('/rollouts/:id/resume', async (req) => {
      const { id } = parseInput(IdParams, req.params, 'params');
      const body = parseInput(ResumeBodySchema, req.body ?? {}, 'body');
      await mustGet(id);
      const rollout = await service().resume(id, actor(req), body.maxFailures);
      await audit(ctx, req, 'rollout.resume', id, body.maxFailures ? { maxFailures: body.maxFailures } : {});
      return rollout;
    });

    app.get('/rollouts/:id/events', async (req) => {
      const { id } = parseInput(IdParams, req.params, 'params');
      const { after } = parseInput(AfterQuery, req.query, 'query');
      await mustGet(id);
      const events = await service().events(id, after ?? 0);
      // The engine keeps seq order; sorting here makes "ordered" a property of the route whatever stands behind it.
      return [...events].sort((a, b) => a.seq - b.seq);
    });

    app.get('/rollouts/:id/events/stream', async (req, reply) => {
      const { id } = parseInput(IdParams, req.params, 'params');
      const { after } = parseInput(AfterQuery, req.query, 'query');
      const from = resumeSeq(headerOf(req, 'last-event-id'), after);
      if (from === undefined) throw sharedError('SWARM_ERR_BAD_REQUEST', 'invalid headers: last-event-id: must be the seq of an event of this rollout');
      await mustGet(id);
      const svc = service();
      openEventStream(req, reply, limits, async (send) => {
        // Subscribe before reading the backlog, hold live events until it is sent, then drop what it covered:
        // nothing falls between the two, and nothing is sent twice.
        let last = from;
        let held: StreamEvent[] | undefined = [];
        const deliver = (e: StreamEvent): void => {
          if (e.seq <= last) return;
          last = e.seq;
          send(String(e.seq), e);
        };
        const unsubscribe = svc.subscribe(id, (e) => (held ? held.push(e) : deliver(e)));
        try {
          for (const e of [...await svc.events(id, from)].sort((a, b) => a.seq - b.seq)) deliver({ ...e, rollout: id });
        } catch (err) {
          unsubscribe();
          throw err;
        }
        const waiting = held;
        held = undefined;
        for (const e of waiting) deliver(e);
        return unsubscribe;
      }, streams);
      return reply;
    });

    app.get('/events/stream', async (req, reply) => {
      const svc = service();
      // Live events of every rollout (the dashboard, `rollout watch` of several); a client that needs the history
      // of one rollout reads its events page or its own stream, which resume by seq.
      openEventStream(req, reply, limits, async (send) => svc.subscribe(undefined, (e) => send(`${e.rollout}:${e.seq}`, e)), streams);
      return reply;
    });

    app.post('/rollback', async (req) => {
      const body = parseInput(FleetRollbackBodySchema, req.body, 'body');
      const report = await service().rollback(body, actor(req));
      const target = body.rollout ? `rollout:${body.rollout}` : body.selector ? `selector:${body.selector}` : body.all ? 'all' : body.hosts!.join(',');
      await audit(ctx, req, 'rollback', target, {
        hosts: report.hosts.map((h) => ({ name: h.name, state: h.state, release: h.release })),
        pausedRollouts: report.pausedRollouts,
      });
      return report;
    });
  };
}

function headerOf(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
