// The agent's link to the controller (channel + certificate renewal), loaded only when a controller URL is set:
// the channel and renewal modules pull in ws, node-forge and x509 code that a standalone agent's cold start does not need.
import type { Clock } from '../shared/clock.js';
import { loadControllerClient, type HostRevocation } from '../controller-client/index.js';
import type { Logger } from '../shared/logger.js';
import type { TlsMaterial } from '../shared/tls.js';
import type { AgentHealth } from '../shared/wire.js';

export interface ControllerLinkDeps {
  /** The controller's URL, or several (replicas): the channel fails over between them. */
  controllerUrl: readonly string[];
  pkiDir: string;
  material: () => TlsMaterial;
  report: () => AgentHealth;
  onRenewed: (material: TlsMaterial) => void;
  logger: Logger;
  clock: Clock;
  /** The host's denylist: fed by the channel and the CRL, and used to refuse a revoked controller. */
  revocation: HostRevocation;
  crlRefreshMs?: number;
}

export interface ControllerLink {
  /** Report now (health changed) instead of at the next heartbeat. */
  reportNow(): void;
  close(): Promise<void>;
}

/** Start the channel and renewal; a failure to start either is logged and the agent keeps serving its host. */
export async function startControllerLink(deps: ControllerLinkDeps): Promise<ControllerLink> {
  const { startChannelClient, startRenewal, startCrlRefresh } = await loadControllerClient();
  const { logger, clock, revocation } = deps;
  let channel: ReturnType<typeof startChannelClient> | undefined;
  // Renewal and the CRL go where the channel is up (or try the list in order while it is not).
  const controllerUrl = (): readonly string[] => channel?.controllerUrls() ?? deps.controllerUrl;
  let renewal: ReturnType<typeof startRenewal> | undefined;
  let crl: ReturnType<typeof startCrlRefresh> | undefined;
  try {
    channel = startChannelClient({
      controllerUrl: deps.controllerUrl, role: 'agent', material: deps.material, report: deps.report, logger, clock,
      isRevoked: revocation.isRevoked,
      onRevoked: (serials) => void revocation.revoke(serials, 'channel'),
    });
  } catch (err) {
    logger.error({ err }, 'controller channel not started; the agent keeps running without it');
  }
  try {
    renewal = startRenewal({ controllerUrl, pkiDir: deps.pkiDir, base: 'agent', material: deps.material, logger, clock, onRenewed: deps.onRenewed, isRevoked: revocation.isRevoked });
  } catch (err) {
    logger.error({ err }, 'certificate renewal not started; the agent keeps running without it');
  }
  try {
    crl = startCrlRefresh({ controllerUrl, material: deps.material, revocation, logger, clock, ...(deps.crlRefreshMs ? { intervalMs: deps.crlRefreshMs } : {}) });
  } catch (err) {
    logger.error({ err }, 'CRL refresh not started; the agent keeps running without it');
  }
  return {
    reportNow: () => channel?.reportNow(),
    close: async () => {
      renewal?.stop();
      crl?.stop();
      await channel?.close().catch((err: unknown) => logger.warn({ err }, 'closing the controller channel failed'));
    },
  };
}
