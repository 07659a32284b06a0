// A fastify HTTPS app with our defaults (helmet, error shape, bounded bodies, mTLS options); never listens.
import helmet from '@fastify/helmet';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { installErrorHandler } from './http.js';
import { buildServerHttpsOptions, type ServerTlsOptions, type TlsMaterial } from './tls.js';

export interface HttpsAppOptions extends ServerTlsOptions {
  material: TlsMaterial;
  logger: Logger;
  /** Largest JSON body accepted (streamed uploads register their own parser). Default 1 MiB. */
  bodyLimit?: number;
  /** Server-wide limits that keep one client from starving others. */
  maxRequestsPerSocket?: number;
  connectionTimeoutMs?: number;
}

export async function createHttpsApp(options: HttpsAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    https: buildServerHttpsOptions(options.material, options),
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Per-request info lines would drown the logs of a fleet; servers log what matters themselves.
    logController: new LogController({ disableRequestLogging: true }),
    connectionTimeout: options.connectionTimeoutMs ?? 30_000,
    keepAliveTimeout: 10_000,
    requestTimeout: 0,
    return503OnClosing: true,
    forceCloseConnections: true,
    ...(options.maxRequestsPerSocket ? { maxRequestsPerSocket: options.maxRequestsPerSocket } : {}),
  }) as unknown as FastifyInstance;
  await app.register(helmet, { global: true });
  installErrorHandler(app);
  return app;
}
