// A release body's pace at the updater: shared/upload-pace.ts with the updater's limits and error codes.
import type { Readable } from 'node:stream';
import type { SwarmError } from '../shared/errors.js';
import { limitValue } from '../shared/limits.js';
import { paceBody, type PacedBody, type PaceRefusals, type UploadPace } from '../shared/upload-pace.js';
import { updaterError } from './errors.js';

export type { PacedBody, UploadPace } from '../shared/upload-pace.js';

export const DEFAULT_UPLOAD_PACE: Readonly<UploadPace> = Object.freeze({
  minBytesPerSecond: limitValue('updater.upload.min-rate'),
  windowMs: limitValue('updater.upload.rate-window'),
  deadlineMs: limitValue('updater.upload.deadline'),
});

const REFUSALS: PaceRefusals = {
  tooSlow: (rate, pace) => updaterError('SWARM_ERR_UPDATER_UPLOAD_TOO_SLOW', `the release body arrived at ${rate} bytes/s over the last ${pace.windowMs} ms, below the minimum of ${pace.minBytesPerSecond} (upload.minBytesPerSecond); nothing was changed, resend over a working link`),
  deadline: (received, pace) => updaterError('SWARM_ERR_UPDATER_UPLOAD_DEADLINE', `the release body did not arrive within ${pace.deadlineMs} ms (upload.deadlineMs; ${received} bytes came); nothing was changed, resend over a faster link`),
};

/** See paceBody: the updater's refusals are SWARM_ERR_UPDATER_UPLOAD_TOO_SLOW and _DEADLINE. */
export function paceUpload(stream: Readable, pace: UploadPace, cut: (reason: SwarmError) => void): PacedBody {
  return paceBody(stream, pace, REFUSALS, cut);
}
