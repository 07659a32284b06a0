// The id seam: operation, rollout and request ids.
import { randomBytes } from 'node:crypto';

export interface IdSource {
  /** A new unique id, `<prefix>-<time><random>`: sortable by creation time. */
  next(prefix: string): string;
}

export const randomIds: IdSource = Object.freeze({
  next(prefix: string): string {
    return `${prefix}-${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
  },
});

/** A deterministic source for tests: prefix-1, prefix-2, ... */
export function sequentialIds(): IdSource {
  let n = 0;
  return { next: (prefix) => `${prefix}-${++n}` };
}
