// A fastify HTTPS app with our defaults (helmet, error shape, bounded bodies, mTLS options, connection guard); never listens.
import helmet from '@fastify/helmet';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { connectionLimits, guardConnections, type ConnectionGuard, type ConnectionLimits } from './connection-guard.js';
import { installErrorHandler } from './http.js';
import { LIMITS } from './limits.js';
import { tlsServerOf } from './server-kit.js';
import { buildServerHttpsOptions, type ServerTlsOptions, type TlsMaterial } from './tls.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** What the connection caps hold and have dropped (tests, metrics). */
    connectionGuard: ConnectionGuard;
  }
}

export interface HttpsAppOptions extends ServerTlsOptions {
  material: TlsMaterial;
  logger: Logger;
  /** Largest JSON body accepted (streamed uploads register their own parser). Default 1 MiB. */
  bodyLimit?: number;
  /** Server-wide limits that keep one client from starving others. */
  maxRequestsPerSocket?: number;
  connectionTimeoutMs?: number;
  /** Handshake, header and connection caps (shared/limits.ts by default; tests shorten them). */
  connections?: Partial<ConnectionLimits>;
}

/**
 * Every input is parsed with zod (parseInput) and no route declares a JSON schema. Given these compilers, fastify
 * does not load ajv and fast-json-stringify at every start (~50 ms of CPU for each agent, updater and controller
 * process) for nothing; a route given a schema by mistake fails when it is registered.
 */
function refuseSchemas(): (route: unknown) => never {
  return (route) => {
    const at = typeof route === 'object' && route !== null && 'url' in route ? ` ${String(route.url)}` : '';
    throw new Error(`a route${at} declares a JSON schema: Swarm parses every input with zod (shared/http.ts parseInput)`);
  };
}

export async function createHttpsApp(options: HttpsAppOptions): Promise<FastifyInstance> {
  const limits = connectionLimits(options.connections);
  const app = Fastify({
    https: {
      ...buildServerHttpsOptions(options.material, options),
      handshakeTimeout: limits.handshakeTimeoutMs,
      // Node checks header and request timeouts on this tick only: its default (30 s) is longer than the timeout.
      connectionsCheckingInterval: Math.min(LIMITS['server.timeout-check-interval'].value, limits.headersTimeoutMs),
    },
    loggerInstance: options.logger,
    schemaController: { compilersFactory: { buildValidator: refuseSchemas, buildSerializer: refuseSchemas } },
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Per-request info lines would drown the logs of a fleet; servers log what matters themselves.
    logController: new LogController({ disableRequestLogging: true }),
    connectionTimeout: options.connectionTimeoutMs ?? 30_000,
    keepAliveTimeout: 10_000,
    requestTimeout: 0,
    return503OnClosing: true,
    forceCloseConnections: true,
    ...(options.maxRequestsPerSocket ? { maxRequestsPerSocket: options.maxRequestsPerSocket } : {}),
  // The one place fastify's HTTPS instance type is erased: every app and plugin is typed for the default server;
  // what needs the TLS server asks tlsServerOf (shared/server-kit.ts), which checks instead of casting.
  }) as unknown as FastifyInstance;
  app.server.headersTimeout = limits.headersTimeoutMs;
  app.decorate('connectionGuard', guardConnections(tlsServerOf(app), { limits, cluster: options.material.identity.cluster, logger: options.logger }));
  await app.register(helmet, { global: true });
  installErrorHandler(app);
  return app;
}
