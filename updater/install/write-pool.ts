// Small files are written in the background, a bounded number at a time, so the parser never waits on open/close.
import { constants as fsc } from 'node:fs';
import { BoundedPool } from '../../shared/limit-concurrency.js';
import { closeFd, fchmodFd, openFd, writevAll } from './fd.js';

/** Files up to this size are buffered whole (tar-stream already holds their bytes) and written in the background. */
export const SMALL_FILE_BYTES = 128 * 1024;
/** In-flight background writes: bounds memory (x SMALL_FILE_BYTES) and open descriptors. */
export const WRITE_CONCURRENCY = 8;

const CREATE_FLAGS = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;

/** Create a new file (never through or onto anything existing) with exactly these bytes and mode. */
export async function writeNewFile(path: string, chunks: Buffer[], mode: number, fixMode: boolean): Promise<void> {
  const fd = await openFd(path, CREATE_FLAGS, mode);
  try {
    await writevAll(fd, chunks);
    if (fixMode) await fchmodFd(fd, mode);
  } finally {
    await closeFd(fd);
  }
}

/** The extractor's pool of background writes (shared/limit-concurrency.ts), WRITE_CONCURRENCY at a time. */
export class WritePool extends BoundedPool {
  constructor(onFailure: (err: unknown) => void, concurrency = WRITE_CONCURRENCY) {
    super(concurrency, onFailure);
  }
}
