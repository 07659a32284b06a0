// What operators see of a host: registry + latest reports + certificates, decided purely (online, release, expiry).
import type { CertificateView, HostView } from '../shared/operator-api.js';
import type { AgentHealth, UpdaterStatus } from '../shared/wire.js';
import type { CertificateRecord, HostRecord, HostReportRecord } from './store/index.js';

// The wire types are the operator API's (shared with swarmctl); this module only decides their content.
export type { CertificateView, HostView };

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export function viewCertificate(cluster: string, c: CertificateRecord, now: number): CertificateView {
  return {
    serial: c.serial, role: c.role, name: c.name, identity: `spiffe://${cluster}/${c.role}/${c.name}`,
    notBefore: iso(c.notBefore)!, notAfter: iso(c.notAfter)!, issuedAt: iso(c.issuedAt)!, revokedAt: iso(c.revokedAt),
    state: c.revokedAt !== null ? 'revoked' : c.notAfter <= now ? 'expired' : 'valid',
  };
}

/** The newest unrevoked certificate per role of a host's certificates. */
export function currentCertificates(certs: readonly CertificateRecord[]): CertificateRecord[] {
  const newest = new Map<string, CertificateRecord>();
  for (const c of certs) {
    if (c.revokedAt !== null) continue;
    const key = `${c.role}/${c.name}`;
    const prev = newest.get(key);
    if (!prev || c.issuedAt > prev.issuedAt || (c.issuedAt === prev.issuedAt && c.notAfter > prev.notAfter)) newest.set(key, c);
  }
  return [...newest.values()];
}

export interface ViewInput {
  host: HostRecord;
  reports: HostReportRecord | undefined;
  certs: readonly CertificateRecord[];
  channels: { agent: boolean; updater: boolean };
  now: number;
  offlineTimeoutMs: number;
}

export function buildHostView(input: ViewInput): HostView {
  const { host, reports, now } = input;
  const agentReport = reports?.agent ? (reports.agent.report as AgentHealth) : undefined;
  const updaterReport = reports?.updater ? (reports.updater.report as UpdaterStatus) : undefined;
  const lastContact = reports?.lastContact ?? null;
  const online = lastContact !== null && now - lastContact < input.offlineTimeoutMs;
  const current = currentCertificates(input.certs.filter((c) => c.role === 'agent' || c.role === 'updater'));
  const expiry = current.length > 0 ? Math.min(...current.map((c) => c.notAfter)) : null;
  return {
    name: host.name,
    address: host.address,
    labels: host.labels,
    enrolled: host.enrolledAt !== null,
    online,
    lastContact: iso(lastContact),
    release: agentReport?.release ?? updaterReport?.active?.id ?? null,
    version: agentReport?.version ?? updaterReport?.active?.version ?? null,
    health: agentReport?.status ?? null,
    agent: agentReport && reports?.agent
      ? { status: agentReport.status, release: agentReport.release, version: agentReport.version, certNotAfter: iso(reports.agent.certNotAfter), reportedAt: iso(reports.agent.at)! }
      : null,
    updater: updaterReport && reports?.updater
      ? {
        status: updaterReport.status,
        version: updaterReport.version,
        active: updaterReport.active ? { id: updaterReport.active.id, version: updaterReport.active.version } : null,
        prev: updaterReport.prev ? { id: updaterReport.prev.id, version: updaterReport.prev.version } : null,
        running: updaterReport.running,
        lastOperation: updaterReport.lastOperation ? { id: updaterReport.lastOperation.id, kind: updaterReport.lastOperation.kind, state: updaterReport.lastOperation.state } : null,
        certNotAfter: iso(reports.updater.certNotAfter),
        reportedAt: iso(reports.updater.at)!,
      }
      : null,
    certExpiry: iso(expiry),
    channels: input.channels,
  };
}
