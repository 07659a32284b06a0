// The controller's release store: uploads streamed to disk and inspected, records, references, blobs for rollouts.
export { DiskReleaseBlobs, type DiskReleaseBlobsOptions, type OpenedRelease, type ReleaseBlobs } from './blobs.js';
export { releaseUploadLimits, type ReleaseUploadLimits } from './limits.js';
export { receiveRelease, releaseBlobPath, type ReceivedRelease, type ReceiveRequest } from './receive.js';
export { decideReleaseRef, isReleasePrefix, MIN_RELEASE_PREFIX } from './ref.js';
export { readReleaseSigningKey } from './signing-key.js';
