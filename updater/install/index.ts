// The installer's public door: streaming release install, the release store, limits and error codes.
export { installError, type InstallErrorCode } from './errors.js';
export { DEFAULT_INSTALL_LIMITS, InstallLimitsSchema, RATIO_GRACE_BYTES, type InstallLimits } from './limits.js';
export { ReleaseStore, type ListedRelease, type ReleaseStoreOptions } from './store.js';
export type { InstallRequest } from './installer.js';
export type { InstalledRelease } from './release-dir.js';
export { findMark, RELEASE_QUERY, type BadMark } from './bad-marks.js';
export {
  checkTarEntry,
  createExtractionState,
  recordEntry,
  resolveInRelease,
  type EntryDecision,
  type ExtractionState,
  type TarEntryHeader,
} from './entry-check.js';
