// A release's bytes as a push sends them: chunks pulled one at a time, as the connection takes them.
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { LIMITS } from '../../shared/limits.js';
import { controllerError } from '../errors.js';

/**
 * The body of one push attempt. A chunk is only valid until the next one is asked for (a file body reads every chunk
 * into the same buffer); `close` releases what the body holds, whether it was read to the end, in part, or never.
 */
export interface ReleaseBody {
  chunks: AsyncIterable<Buffer>;
  close(): void;
}

/**
 * A file read into one buffer, again for every chunk, opened at the first pull. undici takes the next chunk of an
 * iterable body only once the socket drained the last (it writes corked and waits for 'drain'), so nothing still
 * holds the buffer when it is read into again. A read stream allocates a new chunk per read, freed only when the
 * garbage collector runs: with many pushes at once that garbage, not the pushes, was most of the controller's memory.
 */
export function fileBody(path: string, release: { id: string; size: number }): ReleaseBody {
  const buffer = Buffer.allocUnsafeSlow(Math.min(LIMITS['rollout.push-chunk'].value, Math.max(1, release.size)));
  async function* read(): AsyncGenerator<Buffer> {
    const handle = await open(path, 'r');
    try {
      for (let position = 0; position < release.size;) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, release.size - position), position);
        if (bytesRead === 0) throw controllerError('SWARM_ERR_RELEASE_NOT_FOUND', `release ${release.id}: its file ${path} ended at ${position} of ${release.size} bytes; upload it again`);
        position += bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  }
  const chunks = read();
  return { chunks, close: () => void chunks.return(undefined).catch(() => undefined) };
}

/** A stream that allocates its own chunks (the database's): sent as it reads, destroyed at close. */
export function streamBody(stream: Readable): ReleaseBody {
  return { chunks: stream, close: () => stream.destroy() };
}
