// 128-bit random positive serial numbers.
import { randomBytes } from 'node:crypto';

/** 16 random bytes, top bit clear (positive) and second bit set (fixed length): 126 bits of entropy, lowercase hex. */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}
