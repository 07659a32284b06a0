// What the controller accepts as a release upload: sizes and pace, from shared/limits.ts (tests shorten them).
import { limitValue } from '../../shared/limits.js';
import type { UploadPace } from '../../shared/upload-pace.js';

export interface ReleaseUploadLimits {
  /** Compressed bytes. */
  maxBytes: number;
  maxUnpackedBytes: number;
  maxEntries: number;
  maxPathBytes: number;
  maxRatio: number;
  manifestBytes: number;
  pace: UploadPace;
}

export function releaseUploadLimits(overrides: Partial<ReleaseUploadLimits> = {}): ReleaseUploadLimits {
  return {
    maxBytes: limitValue('controller.release.max-bytes'),
    maxUnpackedBytes: limitValue('controller.release.max-unpacked-bytes'),
    maxEntries: limitValue('controller.release.max-entries'),
    maxPathBytes: limitValue('controller.release.max-path-bytes'),
    maxRatio: limitValue('controller.release.max-ratio'),
    manifestBytes: limitValue('controller.release.manifest-bytes'),
    ...overrides,
    pace: {
      minBytesPerSecond: limitValue('controller.release.min-rate'),
      windowMs: limitValue('controller.release.rate-window'),
      deadlineMs: limitValue('controller.release.deadline'),
      ...overrides.pace,
    },
  };
}
