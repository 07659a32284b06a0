// A release body's pace: a minimum rate per window and a total deadline, so a stalled client cannot hold a server's
// work (the updater's operation lock, the controller's upload slot). Each server names the refusals in its own codes.
import type { Readable } from 'node:stream';
import type { SwarmError } from './errors.js';

export interface UploadPace {
  minBytesPerSecond: number;
  /** The rate is judged over consecutive windows this long. */
  windowMs: number;
  /** The whole body must have arrived by then. */
  deadlineMs: number;
}

/** The caller's errors for a body that came too slowly over a window, or not whole by the deadline. */
export interface PaceRefusals {
  tooSlow(bytesPerSecond: number, pace: UploadPace): SwarmError;
  deadline(received: number, pace: UploadPace): SwarmError;
}

export interface PacedBody {
  /** The body, counted as it is read; never destroyed by an early return (the caller still answers on its connection). */
  body: AsyncIterable<Uint8Array>;
  /** Stop the clocks (the body ended, or the request is answered). */
  dispose(): void;
}

/**
 * Count what the consumer (installer, upload inspector) reads and call `cut` once with the reason when a window brings fewer than
 * minBytesPerSecond * window bytes or the deadline passes. Counting reads (not arrivals) is fine: the consumers
 * read far faster than the minimum rate, so only a slow sender can fall below it.
 */
export function paceBody(stream: Readable, pace: UploadPace, refusals: PaceRefusals, cut: (reason: SwarmError) => void): PacedBody {
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
      stop(refusals.tooSlow(Math.round((got * 1000) / pace.windowMs), pace));
    }
  }, pace.windowMs);
  const deadlineTimer = setTimeout(() => {
    stop(refusals.deadline(received, pace));
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
