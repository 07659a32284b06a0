// Read models for operators: host views, the fleet summary, and certificates expiring soon.
import type { FleetStatus } from '../shared/operator-api.js';
import type { ControllerContext } from './context.js';
import { buildHostView, currentCertificates, type HostView } from './host-view.js';
import type { CertificateRecord, HostRecord } from './store/index.js';

export type { FleetStatus };

export function viewHost(ctx: ControllerContext, host: HostRecord, certs?: readonly CertificateRecord[]): HostView {
  return buildHostView({
    host,
    reports: ctx.reports.get(host.name),
    certs: certs ?? [...ctx.store.listCertificates({ role: 'agent', name: host.name }), ...ctx.store.listCertificates({ role: 'updater', name: host.name })],
    channels: { agent: ctx.hub.isOpen('agent', host.name), updater: ctx.hub.isOpen('updater', host.name) },
    now: ctx.clock.now(),
    offlineTimeoutMs: ctx.settings.offlineTimeoutMs,
  });
}

export function listHostViews(ctx: ControllerContext): HostView[] {
  const byName = new Map<string, CertificateRecord[]>();
  for (const c of ctx.store.listCertificates()) {
    if (c.role !== 'agent' && c.role !== 'updater') continue;
    let list = byName.get(c.name);
    if (!list) byName.set(c.name, (list = []));
    list.push(c);
  }
  return ctx.store.listHosts().map((h) => viewHost(ctx, h, byName.get(h.name) ?? []));
}

/** Current certificates with less than a third of the leaf lifetime left (renewal should have happened). */
export function countExpiringSoon(ctx: ControllerContext): number {
  const now = ctx.clock.now();
  const threshold = now + ctx.issuer.leafLifetimeMs / 3;
  return currentCertificates(ctx.store.listCertificates()).filter((c) => c.role !== 'controller' && c.notAfter > now && c.notAfter < threshold).length;
}

export function fleetStatus(ctx: ControllerContext): FleetStatus {
  const views = listHostViews(ctx);
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
  const certs = ctx.store.listCertificates();
  const now = ctx.clock.now();
  const enrolled = views.filter((v) => v.enrolled).length;
  const online = views.filter((v) => v.online).length;
  return {
    cluster: ctx.cluster,
    hosts: { total: views.length, enrolled, online, offline: enrolled - online, pending: views.length - enrolled },
    health,
    releases: [...releases.values()].sort((a, b) => b.hosts - a.hosts),
    channels: ctx.hub.counts(),
    certificates: {
      active: certs.filter((c) => c.revokedAt === null && c.notAfter > now).length,
      revoked: certs.filter((c) => c.revokedAt !== null).length,
      expiringSoon: countExpiringSoon(ctx),
    },
  };
}
