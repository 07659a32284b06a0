// What the updater sends over its channel: its status cut to the controller's bounds (hardening item 6).
import { LIMITS } from '../shared/limits.js';
import { boundText } from '../shared/printable.js';
import { ReleaseRefSchema, type ReleaseRef, type UpdaterStatus } from '../shared/wire.js';

const TEXT = LIMITS['channels.report-text-chars'].value;
const ID = 64;

const ref = (r: ReleaseRef | null): ReleaseRef | null => (r && ReleaseRefSchema.safeParse(r).success ? r : null);

/**
 * The status with its free text escaped and cut, the newest operation steps and bad releases only: the
 * controller refuses a report past its bounds, and an honest updater must never be refused (an error message
 * may quote a tar entry name or a header a sender chose).
 */
export function boundUpdaterStatus(s: UpdaterStatus): UpdaterStatus {
  const op = s.lastOperation;
  return {
    ...s,
    active: ref(s.active),
    prev: ref(s.prev),
    running: s.running === null ? null : boundText(s.running, ID),
    lastOperation: op
      ? {
        ...op,
        id: boundText(op.id, ID),
        release: op.release ? { id: boundText(op.release.id, TEXT), version: op.release.version === null ? null : boundText(op.release.version, TEXT) } : null,
        from: ref(op.from),
        to: ref(op.to),
        error: op.error ? { code: boundText(op.error.code, ID), message: boundText(op.error.message, TEXT) } : null,
        ...(op.requestedBy === undefined ? {} : { requestedBy: boundText(op.requestedBy, TEXT) }),
        ...(op.reason === undefined ? {} : { reason: boundText(op.reason, TEXT) }),
        steps: op.steps.slice(-LIMITS['channels.report-steps'].value).map((st) => ({
          at: st.at, step: boundText(st.step, ID), ...(st.detail === undefined ? {} : { detail: boundText(st.detail, TEXT) }),
        })),
      }
      : null,
    badReleases: s.badReleases.slice(-LIMITS['channels.report-bad-releases'].value),
  };
}
