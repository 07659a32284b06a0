// The updater's error catalogue (operations, agent restarts, rollback, self-update); the installer has its own.
import { defineErrors } from '../shared/errors.js';
// Loading the updater's catalogue registers the installer's too: one area, one door (the errors test loads this file).
export { installError, type InstallErrorCode } from './install/index.js';

export const updaterError = defineErrors('updater', {
  SWARM_ERR_UPDATER_BUSY: { status: 409, summary: 'Another operation is running on this host; details.running is its id. Wait for it (GET /v1/operations/<id>) and retry.' },
  SWARM_ERR_UPDATER_OPERATION_NOT_FOUND: { status: 404, summary: 'No operation with that id was recorded on this host.' },
  SWARM_ERR_UPDATER_NO_ROLLBACK_TARGET: { status: 409, summary: 'There is no healthy previous release to roll back to (prev is missing, bad or the same as active).' },
  SWARM_ERR_UPDATER_AGENT_UNHEALTHY: { status: 503, summary: 'The agent did not report status "ok" with the expected release id before the deadline, or failed inside the watch window.' },
  SWARM_ERR_UPDATER_ROLLBACK_FAILED: { status: 500, summary: 'No installed release could be made healthy; the agent keeps restarting on the active one. Inspect the agent logs on the host.' },
  SWARM_ERR_UPDATER_INTERRUPTED: { status: 500, summary: 'The operation was interrupted (updater crash or restart) before it switched releases; it was finished at the next start.' },
  SWARM_ERR_UPDATER_RESTART_FAILED: { status: 500, summary: 'Restarting the agent failed (systemctl or the spawn of the entrypoint); the message has the cause.' },
  SWARM_ERR_UPDATER_CONTENT_TYPE: { status: 415, summary: 'The release must be sent as the raw body with Content-Type: application/gzip.' },
  SWARM_ERR_UPDATER_UPLOAD_ABORTED: { status: 400, summary: 'The client closed the connection before the whole release was received; nothing was changed.' },
  SWARM_ERR_UPDATER_SELF_UPDATE_UNSUPERVISED: { status: 409, summary: 'Self-update needs the supervisor: run the updater as `swarm-updater run --supervise` (the systemd unit does).' },
  SWARM_ERR_UPDATER_SELF_UPDATE_FAILED: { status: 500, summary: 'The new updater did not report healthy within the deadline; the previous updater was restored.' },
  SWARM_ERR_UPDATER_NOT_INSTALLED: { status: 404, summary: 'This host has no active release yet (nothing installed under <install-dir>/active).' },
  SWARM_ERR_UPDATER_UPLOAD_TOO_SLOW: { status: 408, summary: 'The release body arrived slower than upload.minBytesPerSecond over a whole window (a stalled or trickling client); it was cut and nothing changed. Resend.' },
  SWARM_ERR_UPDATER_UPLOAD_DEADLINE: { status: 408, summary: 'The whole release body did not arrive within upload.deadlineMs; it was cut and nothing changed. Resend over a faster link.' },
  SWARM_ERR_UPDATER_NOT_MARKED_BAD: { status: 404, summary: 'No bad mark on this host matches that release id or prefix; GET /v1/releases (or swarm-updater status) lists the marked ones.' },
  SWARM_ERR_UPDATER_RELEASE_AMBIGUOUS: { status: 409, summary: 'That prefix matches more than one marked release; give more hex digits or the whole 64-hex id.' },
  SWARM_ERR_UPDATER_PREEMPTED: { status: 409, summary: 'A rollback request pre-empted this update before it switched releases: staging was discarded and active was never touched.' },
});

export type UpdaterErrorCode = Parameters<typeof updaterError>[0];

/** An operation record's error: its code checked against the updater's catalogue when compiled, never a raw string. */
export const updaterFault = (code: UpdaterErrorCode, message: string): { code: UpdaterErrorCode; message: string } => ({ code, message });

/**
 * How an install that threw ends its operation: `refused` when the release was judged and turned away (a 4xx), else
 * `failed` (a fault, or a rollback pre-empted it: the release was never judged).
 */
export function installVerdict(err: { status: number; code: string }): 'refused' | 'failed' {
  return err.status < 500 && err.code !== ('SWARM_ERR_UPDATER_PREEMPTED' satisfies UpdaterErrorCode) ? 'refused' : 'failed';
}
