// Install limits (size, entries, path length, gzip ratio) with safe defaults, validated for the updater config.
import { z } from 'zod';
import { RELEASE_MAX_PATH_BYTES } from '../../shared/release/index.js';

export interface InstallLimits {
  maxUnpackedBytes: number;
  maxEntries: number;
  maxPathBytes: number;
  /** unpacked bytes / compressed bytes, checked while streaming */
  maxCompressionRatio: number;
  maxCompressedBytes: number;
}

const GiB = 1024 ** 3;

export const DEFAULT_INSTALL_LIMITS: Readonly<InstallLimits> = Object.freeze({
  maxUnpackedBytes: GiB,
  maxEntries: 100_000,
  maxPathBytes: RELEASE_MAX_PATH_BYTES,
  maxCompressionRatio: 100,
  maxCompressedBytes: GiB,
});

/** Every field optional in the config, defaulted here. */
export const InstallLimitsSchema: z.ZodType<InstallLimits, Partial<InstallLimits> | undefined> = z
  .strictObject({
    maxUnpackedBytes: z.number().int().positive().default(DEFAULT_INSTALL_LIMITS.maxUnpackedBytes),
    maxEntries: z.number().int().positive().default(DEFAULT_INSTALL_LIMITS.maxEntries),
    maxPathBytes: z.number().int().min(16).max(65_536).default(DEFAULT_INSTALL_LIMITS.maxPathBytes),
    maxCompressionRatio: z.number().positive().default(DEFAULT_INSTALL_LIMITS.maxCompressionRatio),
    maxCompressedBytes: z.number().int().positive().default(DEFAULT_INSTALL_LIMITS.maxCompressedBytes),
  })
  .default(() => ({ ...DEFAULT_INSTALL_LIMITS }));

/**
 * The ratio is only enforced past this many unpacked bytes: the first blocks of any tar (headers,
 * zero padding) compress far better than 100:1, and a megabyte is harmless.
 */
export { RATIO_GRACE_BYTES } from '../../shared/release/ratio-guard.js';
