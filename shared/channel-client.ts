// The agent's and updater's dial-out WebSocket channel to the controller (contract; the controller issue implements it).
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { TlsMaterial } from './tls.js';

export interface ChannelClientOptions {
  /** The controller's base URL, https://HOST:PORT. */
  controllerUrl: string;
  role: 'agent' | 'updater';
  /** The current identity; read at every (re)connect so a renewed certificate is used. */
  material: () => TlsMaterial;
  /** The payload sent on connect and at each heartbeat: AgentHealth (agent) or UpdaterStatus (updater), shared/wire.ts. */
  report: () => unknown;
  heartbeatMs?: number;
  logger: Logger;
  clock?: Clock;
}

export interface ChannelClient {
  readonly connected: boolean;
  /** Send a report now (after a state change) instead of at the next heartbeat. */
  reportNow(): void;
  close(): Promise<void>;
}

export function startChannelClient(_options: ChannelClientOptions): ChannelClient {
  throw new Error('startChannelClient: not built yet (controller issue)');
}
