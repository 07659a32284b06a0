// The agent's link to the controller (channel + certificate renewal), loaded only when a controller URL is set:
// the channel and renewal modules pull in ws, node-forge and x509 code that a standalone agent's cold start does not need.
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { TlsMaterial } from '../shared/tls.js';
import type { AgentHealth } from '../shared/wire.js';

export interface ControllerLinkDeps {
  controllerUrl: string;
  pkiDir: string;
  material: () => TlsMaterial;
  report: () => AgentHealth;
  onRenewed: (material: TlsMaterial) => void;
  logger: Logger;
  clock: Clock;
}

export interface ControllerLink {
  /** Report now (health changed) instead of at the next heartbeat. */
  reportNow(): void;
  close(): Promise<void>;
}

/** Start the channel and renewal; a failure to start either is logged and the agent keeps serving its host. */
export async function startControllerLink(deps: ControllerLinkDeps): Promise<ControllerLink> {
  const [{ startChannelClient }, { startRenewal }] = await Promise.all([import('../shared/channel-client.js'), import('../shared/renewal.js')]);
  const { controllerUrl, logger, clock } = deps;
  let channel: ReturnType<typeof startChannelClient> | undefined;
  let renewal: ReturnType<typeof startRenewal> | undefined;
  try {
    channel = startChannelClient({ controllerUrl, role: 'agent', material: deps.material, report: deps.report, logger, clock });
  } catch (err) {
    logger.error({ err }, 'controller channel not started; the agent keeps running without it');
  }
  try {
    renewal = startRenewal({ controllerUrl, pkiDir: deps.pkiDir, base: 'agent', material: deps.material, logger, clock, onRenewed: deps.onRenewed });
  } catch (err) {
    logger.error({ err }, 'certificate renewal not started; the agent keeps running without it');
  }
  return {
    reportNow: () => channel?.reportNow(),
    close: async () => {
      renewal?.stop();
      await channel?.close().catch((err: unknown) => logger.warn({ err }, 'closing the controller channel failed'));
    },
  };
}
