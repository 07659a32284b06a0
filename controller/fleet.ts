// Read models for operators: host views, the fleet summary, and certificates expiring soon.
import type { FleetStatus } from '../shared/operator-api.js';
import type { ControllerContext } from './context.js';
import { buildHostView, currentCertificates, type HostView } from './host-view.js';
import type { CertificateRecord, HostRecord } from './store/index.js';

export type { FleetStatus };

/** One host's view; its certificates are read from the store unless given. */
export async function viewHost(ctx: ControllerContext, host: HostRecord, certs?: readonly CertificateRecord[]): Promise<HostView> {
  await ctx.reports.refresh();
  return viewHostWith(ctx, host, certs ?? [...await ctx.store.listCertificates({ role: 'agent', name: host.name }), ...await ctx.store.listCertificates({ role: 'updater', name: host.name })]);
}

function viewHostWith(ctx: ControllerContext, host: HostRecord, certs: readonly CertificateRecord[]): HostView {
  return buildHostView({
    host,
    reports: ctx.reports.get(host.name),
    certs,
    channels: { agent: ctx.presence.isOpen('agent', host.name), updater: ctx.presence.isOpen('updater', host.name) },
    now: ctx.clock.now(),
    offlineTimeoutMs: ctx.settings.offlineTimeoutMs,
  });
}

/**
 * Every active host's view from two store reads (never one per host: this is the host list's hot path); a third, the
 * reports, when replicas share the database, so every replica shows what any of them heard.
 */
export async function listHostViews(ctx: ControllerContext): Promise<HostView[]> {
  await ctx.reports.refresh();
  const byName = new Map<string, CertificateRecord[]>();
  for (const c of await ctx.store.listCertificates()) {
    if (c.role !== 'agent' && c.role !== 'updater') continue;
    let list = byName.get(c.name);
    if (!list) byName.set(c.name, (list = []));
    list.push(c);
  }
  return (await ctx.store.listHosts()).map((h) => viewHostWith(ctx, h, byName.get(h.name) ?? []));
}

/** Current certificates with less than a third of the leaf lifetime left (renewal should have happened). */
export async function countExpiringSoon(ctx: ControllerContext): Promise<number> {
  const certs = await ctx.store.listCertificates();
  const now = ctx.clock.now();
  const threshold = now + ctx.issuer.leafLifetimeMs / 3;
  return currentCertificates(certs).filter((c) => c.role !== 'controller' && c.notAfter > now && c.notAfter < threshold).length;
}

export async function fleetStatus(ctx: ControllerContext): Promise<FleetStatus> {
  const views = await listHostViews(ctx);
  const health: Record<string, number> = {};
  const releases = new Map<string, { release: string; version: string | null; hosts: number }>();
  for (const v of views) {
    if (v.health) health[v.health] = (health[v.health] ?? 0) + 1;
    if (v.release) {
      const r = releases.get(v.release) ?? { release: v.release, version: v.version, hosts: 0 };
      r.hosts++;
      releases.set(v.release, r);
    }
  }
  const certs = await ctx.store.listCertificates();
  const now = ctx.clock.now();
  const expiringSoon = await countExpiringSoon(ctx);
  const enrolled = views.filter((v) => v.enrolled).length;
  const online = views.filter((v) => v.online).length;
  return {
    cluster: ctx.cluster,
    hosts: { total: views.length, enrolled, online, offline: enrolled - online, pending: views.length - enrolled },
    health,
    releases: [...releases.values()].sort((a, b) => b.hosts - a.hosts),
    channels: ctx.presence.counts(),
    certificates: {
      active: certs.filter((c) => c.revokedAt === null && c.notAfter > now).length,
      revoked: certs.filter((c) => c.revokedAt !== null).length,
      expiringSoon,
    },
  };
}
