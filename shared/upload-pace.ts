// A release body's pace: a minimum rate per window and a total deadline, so a stalled client cannot hold the operation lock.
import type { Readable } from 'node:stream';
import type { SwarmError } from '../shared/errors.js';
import { limitValue } from '../shared/limits.js';
import { updaterError } from './errors.js';

export interface UploadPace {
  minBytesPerSecond: number;
  /** The rate is judged over consecutive windows this long. */
  windowMs: number;
  /** The whole body must have arrived by then. */
  deadlineMs: number;
}

export const DEFAULT_UPLOAD_PACE: Readonly<UploadPace> = Object.freeze({
  minBytesPerSecond: limitValue('updater.upload.min-rate'),
  windowMs: limitValue('updater.upload.rate-window'),
  deadlineMs: limitValue('updater.upload.deadline'),
});

export interface PacedBody {
  /** The body, counted as it is read; never destroyed by an early return (the caller still answers on its connection). */
  body: AsyncIterable<Uint8Array>;
  /** Stop the clocks (the body ended, or the request is answered). */
  dispose(): void;
}

/**
 * Count what the installer reads and call `cut` once with the reason when a window brings fewer than
 * minBytesPerSecond * window bytes or the deadline passes. Counting reads (not arrivals) is fine: the installer
 * reads far faster than the minimum rate, so only a slow sender can fall below it.
 */
export function paceUpload(stream: Readable, pace: UploadPace, cut: (reason: SwarmError) => void): PacedBody {
  let received = 0;
  let atWindowStart = 0;
  let done = false;
  const perWindow = Math.ceil((pace.minBytesPerSecond * pace.windowMs) / 1000);
  const stop = (reason?: SwarmError): void => {
    if (done) return;
    done = true;
    clearInterval(windowTimer);
    clearTimeout(deadlineTimer);
    if (reason) cut(reason);
  };
  const windowTimer = setInterval(() => {
    const got = received - atWindowStart;
    atWindowStart = received;
    if (got < perWindow) {
      stop(updaterError('SWARM_ERR_UPDATER_UPLOAD_TOO_SLOW', `the release body arrived at ${Math.round((got * 1000) / pace.windowMs)} bytes/s over the last ${pace.windowMs} ms, below the minimum of ${pace.minBytesPerSecond} (upload.minBytesPerSecond); nothing was changed, resend over a working link`));
    }
  }, pace.windowMs);
  const deadlineTimer = setTimeout(() => {
    stop(updaterError('SWARM_ERR_UPDATER_UPLOAD_DEADLINE', `the release body did not arrive within ${pace.deadlineMs} ms (upload.deadlineMs; ${received} bytes came); nothing was changed, resend over a faster link`));
  }, pace.deadlineMs);
  // A reset before the installer reads must not crash the process: the failure surfaces through the iterator.
  const ignore = (): void => undefined;
  stream.on('error', ignore);
  async function* counted(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of stream.iterator({ destroyOnReturn: false })) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
        received += buf.byteLength;
        yield buf;
      }
    } finally {
      stop();
      stream.off('error', ignore);
    }
  }
  return { body: counted(), dispose: () => stop() };
}
