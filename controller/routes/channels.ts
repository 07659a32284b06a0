// The agent and updater channels as fastify routes: identity guard, enrolled-host check, then the upgrade to the hub.
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CHANNEL_PATHS, MAX_CHANNEL_MESSAGE_BYTES, type ChannelRole } from '../../shared/channel-protocol.js';
import { sharedError } from '../../shared/errors.js';
import { identityGuard, type PeerResolver } from '../../shared/http.js';
import { canOpenChannel } from '../authz.js';
import type { ControllerContext } from '../context.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set on the channel routes only: the role the route admits. */
    channel?: ChannelRole;
  }
}

/**
 * Let upgrades through fastify (hooks, error handler, onResponse metrics) instead of around it; register before
 * any route. Only the channel routes upgrade: any other upgrade request is answered 404 in our error shape.
 */
export async function installChannelUpgrades(app: FastifyInstance): Promise<void> {
  await app.register(websocket, {
    // Larger messages are closed with 1009 by ws; compression would let a small frame cost a large inflate.
    options: { maxPayload: MAX_CHANNEL_MESSAGE_BYTES, perMessageDeflate: false, clientTracking: false },
    // A socket error is the peer's doing (a bad frame, a reset): ws closes the channel with the right code itself.
    // The plugin's default logs each at error level, which a hostile host could use to flood the log.
    errorHandler: (err, _socket, req) => req.log.debug({ err }, 'channel socket error'),
  });
  // After the plugin's own onRequest hook, which sets req.ws.
  app.addHook('onRequest', async (req) => {
    if (req.ws && req.routeOptions.config.channel === undefined) throw sharedError('SWARM_ERR_NOT_FOUND', `no channel at ${req.url}`);
  });
  // A refused upgrade gets its answer, then the plugin drops the socket: say so rather than promise keep-alive.
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.ws) void reply.header('connection', 'close');
    return payload;
  });
}

/** The channel routes; `resolvePeer` is the identity guard's (the TLS socket in production). */
export function channelRoutes(ctx: ControllerContext, resolvePeer?: PeerResolver) {
  return async function register(app: FastifyInstance): Promise<void> {
    // A plain GET of a channel path is no route at all, as before channels were routes: no identity asked.
    app.addHook('onRequest', async (req) => {
      if (!req.ws) throw sharedError('SWARM_ERR_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`);
    });
    app.addHook('onRequest', identityGuard({
      cluster: ctx.cluster,
      authorize: (id, req) => canOpenChannel(id, req.routeOptions.config.channel!),
      isRevoked: (serial) => ctx.denylist.has(serial),
      ...(resolvePeer ? { resolvePeer } : {}),
    }));
    app.addHook('onRequest', async (req) => {
      const name = req.peer!.identity.name;
      const host = await ctx.store.getHost(name);
      if (!host || host.removedAt !== null || host.enrolledAt === null) throw sharedError('SWARM_ERR_AUTH_FORBIDDEN', `host ${name} is not an enrolled host`);
      // Checked again after the store answered: a revocation (which denylists before it closes channels) may have run meanwhile.
      if (ctx.denylist.has(req.peer!.serial)) throw sharedError('SWARM_ERR_AUTH_REVOKED', `certificate ${req.peer!.serial} has been revoked`);
    });
    // The upgrade hijacks the reply, so onResponse never sees it: the handler counts the 101 itself.
    const replies = new WeakMap<FastifyRequest, FastifyReply>();
    app.addHook('preHandler', async (req, reply) => {
      replies.set(req, reply);
    });
    for (const role of Object.keys(CHANNEL_PATHS) as ChannelRole[]) {
      // No helmet: its headers are for pages, and neither a 101 nor a refusal of one is read by a browser.
      app.get(CHANNEL_PATHS[role], { websocket: true, helmet: false, config: { channel: role } }, (ws, req) => {
        const elapsed = replies.get(req)?.elapsedTime ?? 0;
        ctx.metrics.observeRequest(req.routeOptions.url ?? CHANNEL_PATHS[role], 101, elapsed / 1000);
        try {
          ctx.hub.open(ws, role, req.peer!);
        } catch (err) {
          req.log.error({ err, host: req.peer!.identity.name, channel: role }, 'channel open failed');
          ws.terminate();
        }
      });
    }
  };
}
