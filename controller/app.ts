// buildControllerApp: the controller's HTTPS app (enrollment, renewal, operators, channels, metrics); never listens.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { CertificateAuthority } from '../pki/index.js';
import { DEFAULT_LEAF_LIFETIME_MS } from '../pki/index.js';
import { systemClock, type Clock } from '../shared/clock.js';
import type { ConnectionLimits } from '../shared/connection-guard.js';
import { identityGuard, tlsPeerResolver, type PeerResolver } from '../shared/http.js';
import { createHttpsApp } from '../shared/server.js';
import { getPeer, type TlsMaterial } from '../shared/tls.js';
import { canOperate, canReadMetrics } from './authz.js';
import { ChannelHub } from './channels.js';
import type { ControllerContext, ControllerSettings } from './context.js';
import { countExpiringSoon } from './fleet.js';
import { CrlPublisher, Issuer } from './issuer.js';
import { Metrics } from './metrics.js';
import { ReportCache } from './reports.js';
import { Denylist, SocketRegistry } from './revocation.js';
import { applyRemoteRevocation, retireSupersededSerials } from './context.js';
import { ChannelPresence } from './presence.js';
import { RevocationSync } from './revocation-sync.js';
import { Supersession } from './supersede.js';
import { LIMITS } from '../shared/limits.js';
import { hostRoutes } from './routes/hosts.js';
import { operatorRoutes } from './routes/operators.js';
import { DatabaseReleaseBlobs, DiskReleaseBlobs, releaseUploadLimits, type ReleaseStore, type ReleaseUploadLimits } from './releases/index.js';
import { publicRoutes, type EnrollLimits } from './routes/public.js';
import { releaseRoutes } from './routes/releases.js';
import { renewRoutes, type RenewLimits } from './routes/renew.js';
import { rolloutRoutes, type RolloutRouteOptions } from './routes/rollouts.js';
import type { RolloutService } from './rollout/service.js';
import { channelRoutes, installChannelUpgrades } from './routes/channels.js';
import type { Store } from './store/index.js';
import { DEFAULT_JOIN_TOKEN_TTL_MS } from './tokens.js';
import { createRolloutEngine } from './rollout/engine.js';
import { defaultLeaseOptions, type LeaseOptions } from './rollout/lease.js';
import { controllerFleet } from './rollout/fleet-source.js';
import type { ReleaseSource } from './rollout/updater-client.js';
import { randomIds, type IdSource } from '../shared/ids.js';
import { sharedError } from '../shared/errors.js';

export interface ControllerDeps {
  /** The controller's own TLS identity (role controller). */
  material: TlsMaterial;
  ca: CertificateAuthority;
  store: Store;
  logger: Logger;
  clock?: Clock;
  leafLifetimeMs?: number;
  heartbeatMs?: number;
  /** Default: three heartbeats. */
  offlineTimeoutMs?: number;
  /** Default: the heartbeat. */
  pingIntervalMs?: number;
  joinTokenTtlMs?: number;
  enrollLimits?: EnrollLimits;
  /** Renewals per identity per window (default 30 a minute). */
  renewLimits?: RenewLimits;
  /** How often latest reports are written to the store. */
  reportFlushMs?: number;
  /** Handshake, header and connection caps (shared/limits.ts by default; tests shorten them). */
  connections?: Partial<ConnectionLimits>;
  /** How long a renewed-away certificate stays valid once its successor is used (default LIMITS renew.superseded-grace). */
  supersededGraceMs?: number;
  /** Where rollouts read releases from (the release store); without one, rollouts refuse every release. */
  releaseSource?: ReleaseSource;
  /** Rollout ids (tests: sequential). */
  ids?: IdSource;
  /** One driver per rollout: `exclusive` when this controller is alone on its database (SQLite); timings for tests. */
  rolloutLease?: Partial<LeaseOptions>;
  /** The rollout engine behind /v1/rollouts and /v1/rollback (optional: without one those routes answer 503). */
  rollouts?: RolloutService;
  /** Event-stream heartbeat and per-client buffer (shared/limits.ts by default; tests shorten them). */
  rolloutRoutes?: RolloutRouteOptions;
  /**
   * Where release blobs live on SQLite (`<state-dir>/releases`). A store that keeps blobs itself (PostgreSQL, shared by
   * replicas) is used instead; with neither, the release routes are not served.
   */
  releasesDir?: string;
  /** PEM of the Ed25519 public key uploads must be signed with (serve --release-signing-key); unsigned ones are refused. */
  releaseSigningKeyPem?: string;
  /** Upload sizes and pace (shared/limits.ts by default; tests shorten them). */
  releaseLimits?: Partial<ReleaseUploadLimits>;
  /** This process's id among replicas sharing the database (default: host/pid/random, as the rollout lease holder's). */
  replicaId?: string;
  /** Presence and revocation-sync timings (shared/limits.ts by default; tests shorten them). */
  replicas?: { presenceIntervalMs?: number; presenceTtlMs?: number; revocationPollMs?: number };
  /**
   * Who a request comes from (default: its verified TLS client certificate). A seam for route tests with
   * `inject()`; `serve` never sets it, so a running controller only ever trusts the TLS handshake.
   */
  resolvePeer?: PeerResolver;
}

/** Rollouts refuse every release when the controller has no release store. */
const noReleases: ReleaseSource = {
  resolve: async (ref) => {
    throw sharedError('SWARM_ERR_NOT_FOUND', `no release ${ref}: this controller has no release store`);
  },
  openBody: async (id) => {
    throw sharedError('SWARM_ERR_NOT_FOUND', `no release ${id}: this controller has no release store`);
  },
};

export const DEFAULT_HEARTBEAT_MS = 10_000;

export interface ControllerApp {
  app: FastifyInstance;
  context: ControllerContext;
}

export async function buildControllerApp(deps: ControllerDeps): Promise<ControllerApp> {
  const clock = deps.clock ?? systemClock;
  const cluster = deps.ca.cluster;
  const heartbeatMs = deps.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const settings: ControllerSettings = {
    heartbeatMs,
    offlineTimeoutMs: deps.offlineTimeoutMs ?? 3 * heartbeatMs,
    pingIntervalMs: deps.pingIntervalMs ?? Math.max(heartbeatMs, 1000),
    joinTokenTtlMs: deps.joinTokenTtlMs ?? DEFAULT_JOIN_TOKEN_TTL_MS,
  };
  // Before anything can connect: every serial revoked so far is refused from the first handshake on.
  const denylist = new Denylist((await deps.store.listRevoked()).map((r) => r.serial));
  const reports = await ReportCache.load(deps.store, clock, deps.logger);
  const hub = new ChannelHub({ reports, denylist, clock, logger: deps.logger, heartbeatMs, pingIntervalMs: settings.pingIntervalMs });
  const replica = deps.replicaId ?? deps.rolloutLease?.holder ?? `${hostname()}/${process.pid}/${randomBytes(6).toString('hex')}`;
  const presence = new ChannelPresence({
    hub, store: deps.store, replica, clock, logger: deps.logger,
    ...(deps.replicas?.presenceIntervalMs !== undefined ? { intervalMs: deps.replicas.presenceIntervalMs } : {}),
    ...(deps.replicas?.presenceTtlMs !== undefined ? { ttlMs: deps.replicas.presenceTtlMs } : {}),
  });
  const crl = new CrlPublisher(deps.ca, deps.store, clock);
  await crl.regenerate();
  const releases = openReleaseStore(deps);
  // This process's id among the replicas: the holder of the rollout leases it takes, and its /metrics identity.
  const lease: LeaseOptions = { ...defaultLeaseOptions(), ...deps.rolloutLease };
  const metrics = new Metrics();
  const rollouts = createRolloutEngine({
    onSettled: (outcome, seconds) => metrics.observePush(outcome, seconds),
    store: deps.store, releases: deps.releaseSource ?? releases ?? noReleases, fleet: controllerFleet({ store: deps.store, reports, hub, presence, clock, offlineTimeoutMs: settings.offlineTimeoutMs }),
    material: () => deps.material, clock, ids: deps.ids ?? randomIds, logger: deps.logger,
    lease,
    // The routes write the audit entries (they know the caller and the outcome), so the engine writes none.
  });
  const revocations = new RevocationSync({
    store: deps.store, replica, clock, logger: deps.logger, apply: (revoked) => applyRemoteRevocation(ctx, revoked),
    ...(deps.replicas?.revocationPollMs !== undefined ? { pollIntervalMs: deps.replicas.revocationPollMs } : {}),
  });
  const ctx: ControllerContext = {
    cluster,
    store: deps.store,
    issuer: new Issuer(deps.ca, deps.store, clock, deps.leafLifetimeMs ?? DEFAULT_LEAF_LIFETIME_MS),
    crl,
    denylist,
    sockets: new SocketRegistry(),
    hub,
    presence,
    revocations,
    reports,
    metrics,
    clock,
    logger: deps.logger,
    settings,
    supersession: new Supersession({
      clock,
      graceMs: deps.supersededGraceMs ?? LIMITS['renew.superseded-grace'].value,
      retire: (serials) => void retireSupersededSerials(ctx, serials).catch((err: unknown) => deps.logger.error({ err, serials }, 'retiring superseded certificates failed')),
    }),
    rollouts,
    ...(deps.rollouts ? { rollouts: deps.rollouts } : {}),
    ...(releases ? { releases } : {}),
    replica: lease.holder,
  };

  // Enrollment has no client certificate, so the handshake lets it through; every other group checks identity.
  // Connections without one are capped apart from verified identities (shared/connection-guard.ts): an
  // enrollment flood can never take the places of hosts' channels or operators.
  const app = await createHttpsApp({ material: deps.material, logger: deps.logger, clientCert: 'optional', ...(deps.connections ? { connections: deps.connections } : {}) });

  // Live sockets are kept per client serial so revoking one cuts its connections. A revoked serial that
  // connects again is answered per request and per upgrade (403 SWARM_ERR_AUTH_REVOKED: a clear error
  // rather than a reset); it gets nothing but that answer.
  app.server.on('secureConnection', (socket: TLSSocket) => {
    const peer = getPeer(socket, cluster);
    if (peer) ctx.sockets.track(peer.serial, socket);
    if (peer) ctx.supersession.seen(peer.serial);
  });
  hub.start();
  reports.start(deps.reportFlushMs ?? 2_000);
  // Replicas on one database: revocations made elsewhere are heard from here on, channels are shared.
  await revocations.start();
  presence.start();
  const crlTimer = setInterval(() => void crl.regenerate().catch((err: unknown) => deps.logger.error({ err }, 'CRL regeneration failed')), 86_400_000);
  crlTimer.unref();
  // Rollouts resume only once the controller serves (channels can report); they stop before the store closes.
  app.addHook('onListen', async () => {
    void rollouts.resumeUnsettled()
      .catch((err: unknown) => deps.logger.error({ err, op: 'rollout.resume' }, 'resuming rollouts failed'));
  });
  // Upgraded sockets are not HTTP connections fastify can force-close: end the channels before the server
  // closes, or close() would wait for them forever (the websocket plugin's own preClose only stops upgrades).
  app.addHook('preClose', async () => {
    await ctx.rollouts.close();
    clearInterval(crlTimer);
    ctx.supersession.close();
    await revocations.close();
    hub.close();
    await presence.close();
  });
  app.addHook('onClose', async () => reports.stop());

  app.addHook('onResponse', async (req, reply) => {
    ctx.metrics.observeRequest(req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });

  await installChannelUpgrades(app);
  await app.register(rateLimit, { global: false });
  const isRevoked = (serial: string): boolean => denylist.has(serial);
  const resolvePeer = deps.resolvePeer ?? tlsPeerResolver(cluster);

  await app.register(publicRoutes(ctx, deps.enrollLimits ?? { max: LIMITS['enroll.per-source-per-minute'].value, windowMs: 60_000 }));
  await app.register(renewRoutes(ctx, deps.renewLimits));
  await app.register(channelRoutes(ctx, resolvePeer));
  await app.register(async (scope) => {
    scope.addHook('onRequest', identityGuard({ cluster, authorize: canOperate, isRevoked, resolvePeer }));
    await scope.register(hostRoutes(ctx));
    await scope.register(operatorRoutes(ctx));
    await scope.register(rolloutRoutes(ctx, deps.rolloutRoutes));
    if (ctx.releases) await scope.register(releaseRoutes(ctx, ctx.releases));
  }, { prefix: '/v1' });
  await app.register(async (scope) => {
    scope.addHook('onRequest', identityGuard({ cluster, authorize: canReadMetrics, isRevoked, resolvePeer }));
    scope.get('/metrics', async (_req, reply) => {
      // Hosts online is the fleet's (what every replica's host list says); channels open are this replica's own.
      await reports.refresh();
      const views = await ctx.store.listHosts();
      const now = clock.now();
      const online = views.filter((h) => {
        const r = reports.get(h.name);
        return r?.lastContact != null && now - r.lastContact < settings.offlineTimeoutMs;
      }).length;
      return reply.type('text/plain; version=0.0.4').send(ctx.metrics.render({
        hostsTotal: views.length,
        hostsOnline: online,
        channels: hub.counts(),
        certificatesExpiringSoon: await countExpiringSoon(ctx),
        revokedSerials: denylist.size,
        rolloutsByState: countBy(await ctx.store.listRollouts({ limit: 100_000 }), (r) => r.state),
        replica: { id: lease.holder, engine: ctx.store.engine },
        rolloutRoles: await rolloutRoles(ctx.store, lease.holder, now),
      }));
    });
  });
  return { app, context: ctx };
}

/** The release store of this engine: chunks in the database when the store keeps blobs (replicas), else files. */
function openReleaseStore(deps: ControllerDeps): ReleaseStore | undefined {
  const limits = releaseUploadLimits(deps.releaseLimits);
  const signing = deps.releaseSigningKeyPem !== undefined ? { signingPublicKeyPem: deps.releaseSigningKeyPem } : {};
  if (deps.store.releaseBlobs) return new DatabaseReleaseBlobs({ store: deps.store, tables: deps.store.releaseBlobs, limits, ...signing });
  if (deps.releasesDir !== undefined) return new DiskReleaseBlobs({ dir: deps.releasesDir, store: deps.store, limits, ...signing });
  return undefined;
}

/**
 * Each unsettled rollout's role for this replica (newest first, at most controller.metrics.rollout-roles): `driver`
 * while the lease row names this holder unexpired, else `standby` (another replica drives it, or nobody does until
 * the lease poll takes it over).
 */
async function rolloutRoles(store: Store, holder: string, now: number): Promise<Array<{ rollout: string; role: 'driver' | 'standby' }>> {
  const unsettled = (await store.listRollouts({ unsettled: true }))
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
    .slice(0, LIMITS['controller.metrics.rollout-roles'].value);
  const roles: Array<{ rollout: string; role: 'driver' | 'standby' }> = [];
  for (const r of unsettled) {
    const l = await store.getRolloutLease(r.id);
    roles.push({ rollout: r.id, role: l?.holder === holder && l.expiresAt > now ? 'driver' : 'standby' });
  }
  return roles;
}

/** How many items fall in each group. */
function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}
