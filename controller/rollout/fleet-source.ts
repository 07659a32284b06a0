// The engine's view of the fleet from the controller's own state: registry, latest reports, open updater channels.
import type { UpdaterStatus, AgentHealth } from '../../shared/wire.js';
import type { Clock } from '../../shared/clock.js';
import type { ChannelHub } from '../channels.js';
import type { ChannelPresence } from '../presence.js';
import type { ReportCache } from '../reports.js';
import type { Store } from '../store/index.js';
import type { FleetHost, FleetSource } from './targets.js';

/**
 * Enrolled, active hosts; `release` is the updater's active release (what `from` records), else the agent's.
 * An updater is online with its channel open, or with a report younger than the offline timeout. Otherwise its
 * channel is given the offline timeout to come back, counted from when this process last heard from it, or from
 * the controller's start: right after a restart every channel is still reconnecting (with backoff) and reports are
 * sent on change only, so a quiet host's last report is old; it must not turn unreachable for that. No certificate
 * reads: the executor asks at every step. With replicas on one database (`presence`), a channel open on any replica
 * counts, and the reports every replica wrote are read first: pushes go to the updater directly, whichever replica
 * holds its channel.
 */
export function controllerFleet(parts: { store: Store; reports: ReportCache; hub: ChannelHub; presence?: Pick<ChannelPresence, 'isOpen'>; clock: Clock; offlineTimeoutMs: number }): FleetSource {
  const channels = parts.presence ?? parts.hub;
  return {
    async list(): Promise<FleetHost[]> {
      if (parts.presence) await parts.reports.refresh();
      const now = parts.clock.now();
      return (await parts.store.listHosts()).filter((h) => h.enrolledAt !== null).map((h) => {
        const r = parts.reports.get(h.name);
        const updater = r?.updater?.report as UpdaterStatus | undefined;
        const agent = r?.agent?.report as AgentHealth | undefined;
        // A report younger than the offline timeout came over a channel that was up then: worth pushing to.
        const online = channels.isOpen('updater', h.name) || (r?.updater != null && now - r.updater.at < parts.offlineTimeoutMs);
        const reconnectBy = (parts.hub.lastSeen('updater', h.name) ?? parts.hub.startedAt) + parts.offlineTimeoutMs;
        return {
          name: h.name, address: h.address, labels: h.labels,
          release: updater?.active?.id ?? (agent && agent.release !== 'unknown' ? agent.release : null),
          updaterOnline: online,
          reconnectBy: !online && now < reconnectBy ? reconnectBy : null,
        };
      });
    },
  };
}
