// What every route group of the controller shares: store, issuer, revocation, channels, reports, metrics.
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Clock } from '../shared/clock.js';
import { spiffeUri, type Role } from '../shared/identity.js';
import { REVOKED_CLOSE_GRACE_MS, type ChannelHub } from './channels.js';
import type { CrlPublisher, Issuer } from './issuer.js';
import type { Metrics } from './metrics.js';
import type { ChannelPresence } from './presence.js';
import type { ReleaseStore } from './releases/index.js';
import type { ReportCache } from './reports.js';
import type { RolloutService } from './rollout/service.js';
import type { Denylist, SocketRegistry } from './revocation.js';
import type { RevocationSync, RevokedSerials } from './revocation-sync.js';
import type { Store } from './store/index.js';
import type { Supersession } from './supersede.js';

export interface ControllerSettings {
  heartbeatMs: number;
  offlineTimeoutMs: number;
  pingIntervalMs: number;
  joinTokenTtlMs: number;
}

export interface ControllerContext {
  cluster: string;
  store: Store;
  issuer: Issuer;
  crl: CrlPublisher;
  denylist: Denylist;
  sockets: SocketRegistry;
  hub: ChannelHub;
  /** Channels open on this replica or another one sharing the database. */
  presence: ChannelPresence;
  /** Revocations told to, and heard from, the other replicas sharing the database. */
  revocations: RevocationSync;
  reports: ReportCache;
  metrics: Metrics;
  clock: Clock;
  logger: Logger;
  settings: ControllerSettings;
  /** Certificates replaced by a renewal, retired once the new one is in use. */
  supersession: Supersession;
  /** Rollouts and fleet rollback (the engine resumes unsettled rollouts once the app listens). */
  rollouts: RolloutService;
  /** The release store (uploads, blobs the rollout engine streams to updaters): chunks in the database on PostgreSQL, files in the releases dir on SQLite; absent with neither. */
  releases?: ReleaseStore;
  /** This controller process among the replicas on one database: its rollout lease holder id (metrics, logs). */
  replica: string;
}

/** Append an operator action to the audit log under the caller's identity. */
export async function audit(ctx: ControllerContext, req: FastifyRequest, action: string, target: string, details: Record<string, unknown> = {}): Promise<void> {
  const actor = req.peer ? spiffeUri(req.peer.identity) : 'anonymous';
  await ctx.store.appendAudit({ at: ctx.clock.now(), actor, action, target, details });
}

/**
 * Revoke every certificate of an identity: record it, refuse it from now on (denylist), close its channels
 * with a close frame at once and cut any other live socket of it, then publish a new CRL. Every other replica on
 * the database is told before this returns, and does the same for the channels and sockets it holds.
 */
export async function revokeIdentities(ctx: ControllerContext, identities: ReadonlyArray<{ role: Role; name: string }>): Promise<string[]> {
  const now = ctx.clock.now();
  const serials: string[] = [];
  for (const { role, name } of identities) serials.push(...await ctx.store.revokeIdentity(role, name, now));
  // Also refuse serials revoked earlier but still connected (idempotent).
  ctx.denylist.add(serials);
  for (const { role, name } of identities) if (role === 'agent' || role === 'updater') ctx.hub.closeHost(name);
  const all: string[] = [];
  const byIdentity: Array<{ serials: string[]; host?: string }> = [];
  for (const { role, name } of identities) {
    const mine = (await ctx.store.listCertificates({ role, name })).map((c) => c.serial);
    all.push(...mine);
    byIdentity.push({ serials: mine, ...(role === 'agent' || role === 'updater' ? { host: name } : {}) });
  }
  ctx.denylist.add(all);
  // Every other replica does the same at once (a host's channels may be held there), before the answer goes out.
  for (const revoked of byIdentity) await ctx.revocations.publish(revoked);
  // Hosts refuse them too: every open channel hears now, a host cut off gets them on reconnect or from the CRL.
  ctx.hub.broadcastRevoked(all);
  setTimeout(() => ctx.sockets.destroy(all), REVOKED_CLOSE_GRACE_MS).unref();
  await ctx.crl.regenerate();
  ctx.logger.info({ op: 'revoke', identities, serials }, 'revoked certificates');
  return serials;
}

/**
 * Revoke single certificates that a renewal superseded (the identity itself stays): record them, refuse them
 * from now on, cut their live sockets at once (a channel on one reconnects with the renewed certificate),
 * publish a new CRL and audit it.
 */
export async function retireSupersededSerials(ctx: ControllerContext, serials: readonly string[]): Promise<string[]> {
  if (serials.length === 0) return [];
  const revoked = await ctx.store.revokeSerials(serials, ctx.clock.now());
  await announceSuperseded(ctx, serials, revoked);
  return revoked;
}

/**
 * What follows the store's revocation of superseded `serials` (`revoked`: those it revoked just now, the others
 * were revoked before): refuse them all, cut their sockets; for the new ones, tell the hosts, audit, publish a CRL.
 */
export async function announceSuperseded(ctx: ControllerContext, serials: readonly string[], revoked: readonly string[]): Promise<void> {
  if (serials.length === 0) return;
  ctx.denylist.add(serials);
  ctx.sockets.destroy(serials);
  await ctx.revocations.publish({ serials });
  if (revoked.length === 0) return;
  ctx.hub.broadcastRevoked(revoked);
  await ctx.store.appendAudit({ at: ctx.clock.now(), actor: 'system', action: 'certificate.supersede', target: revoked.join(','), details: { serials: revoked, reason: 'superseded' } });
  await ctx.crl.regenerate();
  ctx.logger.info({ op: 'revoke', reason: 'superseded', serials: revoked }, 'revoked superseded certificates');
}

/**
 * Revocations made on another replica (or found by the periodic re-read): refuse the serials here too, close the
 * removed host's channels with a close frame and cut the serials' sockets, tell this replica's channels, publish a
 * new CRL. Serials refused here already are no news (the host is closed all the same).
 */
export function applyRemoteRevocation(ctx: ControllerContext, revoked: RevokedSerials): void {
  const fresh = ctx.denylist.add(revoked.serials);
  if (revoked.host !== undefined) {
    ctx.hub.closeHost(revoked.host);
    ctx.reports.forget(revoked.host);
    // As revokeIdentities: the close frames go first, then any other socket of the host's serials.
    setTimeout(() => ctx.sockets.destroy(revoked.serials), REVOKED_CLOSE_GRACE_MS).unref();
  } else {
    ctx.sockets.destroy(fresh);
  }
  if (fresh.length === 0) return;
  ctx.hub.broadcastRevoked(fresh);
  void ctx.crl.regenerate().catch((err: unknown) => ctx.logger.error({ err }, 'CRL regeneration failed'));
  ctx.logger.info({ op: 'revoke', host: revoked.host, serials: fresh }, 'refusing certificates revoked by another replica');
}
