// Refuses a gzip bomb while it inflates: counts unpacked bytes as gunzip produces them against the compressed bytes read
// so far. One guard for the updater's installer and the controller's upload check.
import { Transform, type TransformCallback } from 'node:stream';

/** Unpacked bytes allowed before the ratio is judged (small archives compress far better than any limit). */
export const RATIO_GRACE_BYTES = 1024 * 1024;

export class RatioGuard extends Transform {
  private unpacked = 0;

  /**
   * @param compressedBytes the compressed bytes read so far
   * @param refuse the area's own error for a ratio past the limit (unpacked and compressed bytes at that moment)
   */
  constructor(
    private readonly compressedBytes: () => number,
    private readonly maxRatio: number,
    private readonly refuse: (unpacked: number, compressed: number) => Error,
  ) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.unpacked += chunk.byteLength;
    const compressed = this.compressedBytes();
    if (this.unpacked > RATIO_GRACE_BYTES && this.unpacked > this.maxRatio * Math.max(1, compressed)) return cb(this.refuse(this.unpacked, compressed));
    cb(null, chunk);
  }
}
