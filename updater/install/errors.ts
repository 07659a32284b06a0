// The installer's and release store's error catalogue: every refusal of a release has its own stable code.
import { defineErrors } from '../../shared/errors.js';
// The builder's codes are documented beside these; loading this catalogue registers both.
import '../../shared/release/errors.js';

export const installError = defineErrors('updater-install', {
  SWARM_ERR_INSTALL_ID_INVALID: { status: 400, summary: 'x-swarm-release-sha256 is not 64 lowercase hex digits; send the SHA-256 of the tarball.' },
  SWARM_ERR_INSTALL_SHA256_MISMATCH: { status: 400, summary: 'The SHA-256 of the received body differs from the announced release id: the upload was corrupted or the id is wrong. Resend.' },
  SWARM_ERR_INSTALL_SIGNATURE_MISSING: { status: 400, summary: 'This host requires signed releases and none was sent; sign the release (swarmctl release build --sign-key) and resend.' },
  SWARM_ERR_INSTALL_SIGNATURE_INVALID: { status: 400, summary: 'The Ed25519 signature does not verify against the host\'s release-signing key (wrong key, corrupt base64, or another id).' },
  SWARM_ERR_INSTALL_MARKED_BAD: { status: 422, summary: 'This release id failed and was rolled back on this host, so it is marked bad; build and send a new release (or clear the mark: swarm-updater unmark-bad, DELETE /v1/releases/:id/bad).' },
  SWARM_ERR_INSTALL_TOO_LARGE: { status: 413, summary: 'The compressed release is larger than limits.maxCompressedBytes; shrink it or raise the limit.' },
  SWARM_ERR_INSTALL_RATIO_EXCEEDED: { status: 413, summary: 'The release decompresses more than limits.maxCompressionRatio times its compressed size (a gzip bomb?); refused while streaming.' },
  SWARM_ERR_INSTALL_CORRUPT: { status: 400, summary: 'The body is not a complete gzip\'d tar (truncated, bad gzip data, bad tar header checksum).' },
  SWARM_ERR_INSTALL_MANIFEST_MISSING: { status: 400, summary: 'The release has no swarm-release.json regular file at its root.' },
  SWARM_ERR_INSTALL_MANIFEST_INVALID: { status: 400, summary: 'swarm-release.json is not valid JSON or fails the manifest schema; the message names the field.' },
  SWARM_ERR_INSTALL_ENTRYPOINT_INVALID: { status: 400, summary: 'The manifest entrypoint is not an executable regular file inside the release (missing, a directory, or a symlink leaving it).' },
  SWARM_ERR_INSTALL_DIR_CONFLICT: { status: 409, summary: 'releases/<version>-<12 hex> already exists but holds another or an incomplete release; remove that directory by hand.' },
  SWARM_ERR_INSTALL_ABORTED: { status: 400, summary: 'The install was cancelled (the client went away); staging was cleaned and nothing else changed.' },
  SWARM_ERR_INSTALL_NO_SPACE: { status: 507, summary: 'The disk holding the install directory is full; free space (or prune old releases) and resend.' },
  SWARM_ERR_INSTALL_IO: { status: 500, summary: 'A filesystem operation failed while installing; the message names the path and the errno.' },
  SWARM_ERR_INSTALL_RELEASE_UNKNOWN: { status: 404, summary: 'No complete installed release has that directory name or id.' },
  SWARM_ERR_INSTALL_STATE_CORRUPT: { status: 500, summary: 'The bad-release list (state/bad-releases.json) cannot be parsed; fix or remove it.' },
  SWARM_ERR_TAR_ABSOLUTE_PATH: { status: 400, summary: 'A tar entry has an absolute path; release entries must be relative.' },
  SWARM_ERR_TAR_PATH_TRAVERSAL: { status: 400, summary: 'A tar entry name contains a ".." component (after PAX/GNU long names are applied).' },
  SWARM_ERR_TAR_BAD_NAME: { status: 400, summary: 'A tar entry name is empty or contains a NUL byte, a backslash or a control character.' },
  SWARM_ERR_TAR_RESERVED_NAME: { status: 400, summary: 'The tarball carries .swarm-release.json, which only the updater writes.' },
  SWARM_ERR_TAR_PATH_TOO_LONG: { status: 400, summary: 'A tar entry name or link target is longer than limits.maxPathBytes.' },
  SWARM_ERR_TAR_LINK_ESCAPE: { status: 400, summary: 'A symlink target is absolute, climbs above the release root, or uses ".." after a name.' },
  SWARM_ERR_TAR_HARD_LINK: { status: 400, summary: 'The tarball contains a hard link; releases may only use regular files, directories and symlinks.' },
  SWARM_ERR_TAR_DEVICE: { status: 400, summary: 'The tarball contains a character or block device entry.' },
  SWARM_ERR_TAR_FIFO: { status: 400, summary: 'The tarball contains a FIFO entry.' },
  SWARM_ERR_TAR_UNSUPPORTED_TYPE: { status: 400, summary: 'The tarball contains an entry type the installer does not extract (unknown typeflag, contiguous file).' },
  SWARM_ERR_TAR_SPECIAL_MODE: { status: 400, summary: 'A tar entry has the setuid, setgid or sticky bit; releases may not carry them.' },
  SWARM_ERR_TAR_TOO_MANY_ENTRIES: { status: 413, summary: 'The tarball has more entries than limits.maxEntries.' },
  SWARM_ERR_TAR_TOO_LARGE: { status: 413, summary: 'The unpacked release is larger than limits.maxUnpackedBytes.' },
  SWARM_ERR_TAR_DUPLICATE_ENTRY: { status: 400, summary: 'Two tar entries have the same path (after normalization); a release lists each path once.' },
  SWARM_ERR_TAR_PATH_CONFLICT: { status: 400, summary: 'A tar entry needs a path component that an earlier entry made a regular file (or replaces a directory with a file).' },
  SWARM_ERR_TAR_THROUGH_SYMLINK: { status: 400, summary: 'A tar entry would be written through an earlier symlink entry (a path component is a symlink).' },
  SWARM_ERR_TAR_DATA_AFTER_END: { status: 400, summary: 'A tar entry follows the end-of-archive marker (a second archive appended); tar -t would not list it. Build the release as one archive.' },
  SWARM_ERR_TAR_TRUNCATED: { status: 400, summary: 'The body ended before the archive did (inside an entry or a header that claims more bytes); refused at once. Send the whole release.' },
});

export type InstallErrorCode = Parameters<typeof installError>[0];
