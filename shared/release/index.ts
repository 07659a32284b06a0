// The release format's public door: reproducible builds, release ids, Ed25519 signatures.
export { buildRelease, buildReleaseStream, buildReleaseToFile, type BuildOptions } from './build.js';
export { releaseBuildError } from './errors.js';
export { RELEASE_ID_PATTERN, releaseIdOf, signReleaseId, verifyReleaseSignature } from './sign.js';
export { checkLinkTarget, checkReleasePath, RELEASE_MAX_PATH_BYTES, type NameFault, type TargetFault } from './path-rule.js';
export { collectSourceEntries, symlinkStaysInside, type SourceEntry } from './source-tree.js';
