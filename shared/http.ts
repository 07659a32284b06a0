// The HTTP edge every server shares: errors as { code, message }, and the client-identity guard.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import type { z } from 'zod';
import { SwarmError, sharedError } from './errors.js';
import type { Identity } from './identity.js';
import { getPeer } from './tls.js';
import { formatZodIssues } from './validation.js';

/** A verified caller: who it is and the serial of the certificate it presented. */
export interface Peer {
  identity: Identity;
  serial: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller, set by the identity guard. */
    peer?: Peer;
  }
}

/** Map every error to `{ code, message }` with the right status; unknown faults are logged, not leaked. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof SwarmError) {
      if (err.status >= 500) req.log.error({ err }, err.message);
      return reply.code(err.status).send(err.toJSON());
    }
    const e = err as { statusCode?: number; code?: string; message?: string; validation?: unknown };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send(sharedError('SWARM_ERR_PAYLOAD_TOO_LARGE', e.message ?? 'request body too large').toJSON());
    if (e.statusCode === 429) return reply.code(429).send(sharedError('SWARM_ERR_RATE_LIMITED', e.message ?? 'too many requests').toJSON());
    if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.code(e.statusCode).send(sharedError('SWARM_ERR_BAD_REQUEST', e.message ?? 'bad request').toJSON());
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send(sharedError('SWARM_ERR_INTERNAL', `internal error (request ${req.id}); see the server log`).toJSON());
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(sharedError('SWARM_ERR_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`).toJSON());
  });
}

/** Decide whether an identity may call; pure, so the authorization table can be tested alone. */
export type Authorize = (identity: Identity, req: FastifyRequest) => boolean;

/** Who is calling, or undefined when the request carries no usable identity. */
export type PeerResolver = (req: FastifyRequest) => Peer | undefined;

/** The production resolver: the verified client certificate of the request's TLS socket. */
export function tlsPeerResolver(cluster: string): PeerResolver {
  return (req) => {
    const socket = req.raw.socket as TLSSocket | undefined;
    return socket ? getPeer(socket, cluster) : undefined;
  };
}

export interface GuardOptions {
  cluster: string;
  authorize: Authorize;
  /** A denylist checked per request: revoked serials (lowercase hex). */
  isRevoked?: (serial: string) => boolean;
  /**
   * Where the caller's identity comes from (default: the TLS socket, tlsPeerResolver). A seam for route
   * tests with `inject()`, which has no TLS socket; servers never set it.
   */
  resolvePeer?: PeerResolver;
}

/**
 * An onRequest hook for an authenticated context: refuses requests without a verified client
 * certificate (401), revoked ones and callers the table does not allow (403).
 */
export function identityGuard(options: GuardOptions) {
  const resolvePeer = options.resolvePeer ?? tlsPeerResolver(options.cluster);
  return async function guard(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const peer = resolvePeer(req);
    if (!peer) throw sharedError('SWARM_ERR_AUTH_NO_CLIENT_CERT', describeMissingPeer(req.raw.socket as TLSSocket | undefined));
    if (options.isRevoked?.(peer.serial)) throw sharedError('SWARM_ERR_AUTH_REVOKED', `certificate ${peer.serial} has been revoked`);
    if (!options.authorize(peer.identity, req)) {
      throw sharedError('SWARM_ERR_AUTH_FORBIDDEN', `${peer.identity.role}/${peer.identity.name} may not call ${req.method} ${req.routeOptions.url ?? req.url}`);
    }
    req.peer = peer;
  };
}

/** Why a connection has no usable identity, in words a person can act on. */
function describeMissingPeer(socket: TLSSocket | undefined): string {
  // An injected request has no TLS socket at all: nothing was presented.
  const presented = typeof socket?.getPeerCertificate === 'function' && Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
  if (!presented || !socket) return 'this route needs a client certificate issued by this cluster\'s CA; none was presented';
  if (!socket.authorized) {
    const why = String(socket.authorizationError ?? 'not trusted');
    const hint = /EXPIRED/i.test(why) ? ': it has expired; renew it or get a new identity' : /NOT_YET_VALID/i.test(why) ? ': it is not valid yet; check the clock' : '';
    return `the client certificate was not accepted (${why})${hint}`;
  }
  return 'the client certificate carries no valid Swarm client identity of this cluster (the clientAuth extended key usage and one spiffe://<cluster>/<role>/<name> URI SAN)';
}

/** Parse a request part with zod; the error names the field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'params' | 'headers'): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw sharedError('SWARM_ERR_BAD_REQUEST', `invalid ${where}: ${formatZodIssues(r.error)}`);
  return r.data;
}
