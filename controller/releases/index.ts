// The controller's release store: uploads streamed and inspected into disk files (SQLite) or database chunks (PostgreSQL), records, references, blobs for rollouts.
export { DiskReleaseBlobs, resolveStoredRelease, type DiskReleaseBlobsOptions, type OpenedRelease, type ReleaseBlobs, type ReleaseStore } from './blobs.js';
export { DatabaseReleaseBlobs, type DatabaseReleaseBlobsOptions } from './db-blobs.js';
export { releaseUploadLimits, type ReleaseUploadLimits } from './limits.js';
export { receiveRelease, releaseBlobPath, TempFileWriter, type BlobWriter, type ReceivedRelease, type ReceiveRequest } from './receive.js';
export { decideReleaseRef, isReleasePrefix, MIN_RELEASE_PREFIX } from './ref.js';
export { readReleaseSigningKey } from './signing-key.js';
