// The agent's HTTPS app: mutual TLS, the identity guard, a per-client rate limit, /v1/health and /v1/status.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { TLSSocket } from 'node:tls';
import type { ConnectionLimits } from '../shared/connection-guard.js';
import { identityGuard, parseInput } from '../shared/http.js';
import { spiffeUri, type Identity } from '../shared/identity.js';
import { LIMITS } from '../shared/limits.js';
import type { Logger } from '../shared/logger.js';
import { createHttpsApp } from '../shared/server.js';
import { getPeer, type TlsMaterial } from '../shared/tls.js';
import type { AgentHealth } from '../shared/wire.js';
import { authorizeAgentRoute } from './authorize.js';
import { StatusQuerySchema, type AgentStatus } from './status-schema.js';

/** What the routes read; the supervisor (plus identity and TLS facts) behind it. */
export interface AgentView {
  health(): AgentHealth;
  status(outputLines: number): AgentStatus;
}

export interface AgentAppLimits {
  /** Requests per second per client identity (default 50). */
  ratePerSecond?: number;
  /**
   * Connection caps (shared/connection-guard.ts). They replace Node's `maxConnections`, which counted sockets
   * still in the handshake: ~130 silent local sockets kept the updater's probe out and forced a rollback.
   */
  connections?: Partial<ConnectionLimits>;
  /** Requests before the server closes a keep-alive connection (default 10,000). */
  maxRequestsPerSocket?: number;
}

export interface AgentAppDeps {
  material: TlsMaterial;
  view: AgentView;
  logger: Logger;
  limits?: AgentAppLimits;
  /** The host's denylist (pushed by the controller, merged from the CRL): revoked callers get 403. */
  isRevoked?: (serial: string) => boolean;
}

/** Build the app (never listens). The agent's own identity comes from its certificate. */
export async function buildAgentApp(deps: AgentAppDeps): Promise<FastifyInstance> {
  const self: Identity = deps.material.identity;
  const limits = deps.limits ?? {};
  const app = await createHttpsApp({
    material: deps.material,
    logger: deps.logger,
    clientCert: 'required',
    bodyLimit: 16 * 1024,
    maxRequestsPerSocket: limits.maxRequestsPerSocket ?? 10_000,
    connectionTimeoutMs: 10_000,
    connections: { maxPending: LIMITS['agent.max-pending-handshakes'].value, ...limits.connections },
  });
  app.server.headersTimeout = 5_000;
  app.server.requestTimeout = 10_000;

  app.addHook('onRequest', identityGuard({
    cluster: self.cluster,
    authorize: (caller, req) => authorizeAgentRoute(self, caller, req.routeOptions.url ?? req.url),
    ...(deps.isRevoked ? { isRevoked: deps.isRevoked } : {}),
  }));
  await app.register(rateLimit, {
    global: true,
    max: limits.ratePerSecond ?? 50,
    timeWindow: 1000,
    cache: 1000,
    // per client identity: on loopback every caller has the same IP
    keyGenerator: (req) => {
      const peer = req.peer ?? getPeer(req.raw.socket as TLSSocket, self.cluster);
      return peer ? spiffeUri(peer.identity) : `ip:${req.ip}`;
    },
  });

  app.get('/v1/health', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    return deps.view.health();
  });
  app.get('/v1/status', async (req, reply) => {
    const query = parseInput(StatusQuerySchema, req.query, 'query');
    reply.header('cache-control', 'no-store');
    return deps.view.status(query.lines);
  });
  return app;
}
