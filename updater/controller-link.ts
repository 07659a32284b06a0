// The updater's link to the controller (only with --controller): the status channel and certificate renewal.
import type { Logger } from 'pino';
import { loadControllerClient, type HostRevocation } from '../controller-client/index.js';
import type { TlsMaterial } from '../shared/tls.js';
import type { UpdaterStatus } from '../shared/wire.js';
import { boundUpdaterStatus } from './channel-report.js';
import { LinkStateFile } from './link-state.js';

export interface ControllerLinkDeps {
  /** The controller's URL, or several (replicas): the channel fails over between them. */
  controllerUrl: readonly string[];
  pkiDir: string;
  material: () => TlsMaterial;
  onRenewed: (material: TlsMaterial) => void | Promise<void>;
  status: () => Promise<UpdaterStatus>;
  logger: Logger;
  heartbeatMs?: number;
  /** The host's denylist: fed by the channel and the CRL, and used to refuse a revoked controller. */
  revocation: HostRevocation;
  /** How often the CRL is fetched (default LIMITS['revocation.crlRefreshInterval']). */
  crlRefreshMs?: number;
  /** Where the link's state is kept for `swarm-updater status` (<install-dir>/state/link.json). */
  linkStatePath?: string;
}

export interface ControllerLink {
  /** Recompute the status and send it now (after an operation). */
  refresh(): void;
  close(): Promise<void>;
}

/** Loaded lazily: a host without a controller URL never loads the WebSocket or renewal code. */
export async function startControllerLink(d: ControllerLinkDeps): Promise<ControllerLink> {
  const { startChannelClient, startRenewal, startCrlRefresh } = await loadControllerClient();
  const logger = d.logger.child({ link: 'controller' });
  let last: UpdaterStatus = boundUpdaterStatus(await d.status());
  const { revocation } = d;
  const link = d.linkStatePath ? new LinkStateFile(d.linkStatePath, d.controllerUrl[0]!, logger) : undefined;
  const channel = startChannelClient({
    controllerUrl: d.controllerUrl, role: 'updater', material: d.material, report: () => last, logger, ...(d.heartbeatMs ? { heartbeatMs: d.heartbeatMs } : {}),
    isRevoked: revocation.isRevoked,
    onRevoked: (serials) => void revocation.revoke(serials, 'channel'),
    onConnect: (url) => link?.connected(url),
    onConnectError: (err, url) => link?.failed(err.message, url),
    onDisconnect: (info) => link?.failed(`channel closed (${info.code}${info.reason ? `: ${info.reason}` : ''})`, info.url),
  });
  // Renewal and the CRL go where the channel is up (or try the list in order while it is not).
  const controllerUrl = (): readonly string[] => channel.controllerUrls();
  const renewal = startRenewal({ controllerUrl, pkiDir: d.pkiDir, base: 'updater', material: d.material, onRenewed: d.onRenewed, logger, isRevoked: revocation.isRevoked });
  const crl = startCrlRefresh({ controllerUrl, material: d.material, revocation, logger, ...(d.crlRefreshMs ? { intervalMs: d.crlRefreshMs } : {}) });
  let refreshing = false;
  const refresh = (): void => {
    if (refreshing) return;
    refreshing = true;
    d.status().then(
      (s) => {
        last = boundUpdaterStatus(s);
        channel.reportNow();
      },
      (err: unknown) => logger.warn({ err }, 'status refresh failed'),
    ).finally(() => {
      refreshing = false;
    });
  };
  const timer = setInterval(refresh, d.heartbeatMs ?? 10_000);
  timer.unref();
  return {
    refresh,
    async close() {
      clearInterval(timer);
      renewal.stop();
      crl.stop();
      await channel.close();
      // The close above records a last state; it is written before the updater goes on stopping.
      await link?.settled();
    },
  };
}
