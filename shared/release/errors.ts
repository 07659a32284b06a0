// Error codes of the release builder (making a reproducible release tarball from a directory).
import { defineErrors } from '../errors.js';

export const releaseBuildError = defineErrors('release-build', {
  SWARM_ERR_RELEASE_BUILD_MANIFEST: { status: 400, summary: 'The directory has no valid swarm-release.json at its root (or --version is invalid); the message names the field to fix.' },
  SWARM_ERR_RELEASE_BUILD_SOURCE: { status: 400, summary: 'The directory holds something a release cannot carry (a device, FIFO or socket, a symlink leaving the directory, an unreadable file, a name or link target that updaters refuse: a control character, a backslash, longer than 4,096 bytes); fix it and build again.' },
});
