// The shapes the dashboard server sends and its page reads: types only, so the page bundles none of the server.
import type { FleetStatus, HostView } from '../../shared/operator-api.js';

/** Whether the controller answers, as the page's banner shows it. */
export interface ControllerHealth {
  ok: boolean;
  /** Why not, in one line (the client's own error message). */
  message: string | null;
  since: string;
}

export interface HostSnapshot {
  version: number;
  at: string;
  hosts: HostView[];
  status: FleetStatus;
}
