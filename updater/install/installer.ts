// Installing one release: checks before streaming, streamed extraction into staging, manifest checks, fsync, publish.
import { constants as fsc } from 'node:fs';
import { chmod, mkdtemp, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../shared/logger.js';
import { ManifestSchema, MANIFEST_FILE, SIDECAR_FILE, releaseDirName, type Manifest } from '../../shared/release-manifest.js';
import { RELEASE_ID_PATTERN, verifyReleaseSignature } from '../../shared/release/index.js';
import { formatZodIssues } from '../../shared/validation.js';
import { fsyncDir } from '../../shared/files.js';
import { resolveInRelease } from './entry-check.js';
import { classifyFailure, extractRelease, hashBody, type ExtractOutcome } from './extract.js';
import { installError } from './errors.js';
import type { InstallLimits } from './limits.js';
import { findReleaseById, readInstalledRelease, type InstalledRelease } from './release-dir.js';
import { removeTree } from './remove-tree.js';
import { fsyncDirs } from './sync-queue.js';

export interface InstallRequest {
  /** the raw gzip'd tarball, streamed (never buffered whole) */
  body: NodeJS.ReadableStream | AsyncIterable<Uint8Array>;
  /** x-swarm-release-sha256: 64 lowercase hex, checked against the streamed SHA-256 */
  expectedId: string;
  /** base64 Ed25519 signature over the id (x-swarm-release-signature) */
  signature?: string | undefined;
  /** when set, unsigned or badly signed releases are refused */
  signingPublicKeyPem?: string | undefined;
  limits: InstallLimits;
  /** client gone: stop, clean staging */
  signal?: AbortSignal | undefined;
}

export interface InstallContext {
  releasesDir: string;
  stagingDir: string;
  isBad(id: string): Promise<boolean>;
  logger: Logger;
  now(): Date;
  /** syncfs of the filesystem holding a path (sync-queue.ts); false: fsync each path instead. */
  syncFilesystem(path: string): Promise<boolean>;
}

/** Refusals that need no body: id format, bad mark, signature. */
async function checkBeforeStreaming(ctx: InstallContext, req: InstallRequest): Promise<void> {
  if (!RELEASE_ID_PATTERN.test(req.expectedId)) {
    throw installError('SWARM_ERR_INSTALL_ID_INVALID', `release id ${JSON.stringify(req.expectedId.slice(0, 80))} is not 64 lowercase hex digits (x-swarm-release-sha256)`);
  }
  if (await ctx.isBad(req.expectedId)) {
    throw installError('SWARM_ERR_INSTALL_MARKED_BAD', `release ${req.expectedId} was rolled back on this host and is marked bad; build and send a new release`);
  }
  if (req.signingPublicKeyPem !== undefined) {
    if (req.signature === undefined || req.signature === '') {
      throw installError('SWARM_ERR_INSTALL_SIGNATURE_MISSING', `this host only installs signed releases; send the Ed25519 signature of ${req.expectedId} in x-swarm-release-signature`);
    }
    if (!verifyReleaseSignature(req.expectedId, req.signature, req.signingPublicKeyPem)) {
      throw installError('SWARM_ERR_INSTALL_SIGNATURE_INVALID', `the signature of release ${req.expectedId} does not verify with this host's release-signing key (wrong key or corrupt signature)`);
    }
  }
}

/** The manifest, the entrypoint and the hash, once the whole body went through. */
function checkExtracted(req: InstallRequest, out: ExtractOutcome): Manifest {
  if (out.sha256 !== req.expectedId) {
    throw installError('SWARM_ERR_INSTALL_SHA256_MISMATCH', `the body's SHA-256 is ${out.sha256} but the release id sent is ${req.expectedId}; the upload was corrupted or the id is wrong`);
  }
  if (out.manifestNotFile) throw installError('SWARM_ERR_INSTALL_MANIFEST_INVALID', `${MANIFEST_FILE} must be a regular file at the release root`);
  if (out.manifest === undefined) throw installError('SWARM_ERR_INSTALL_MANIFEST_MISSING', `the release has no ${MANIFEST_FILE} at its root; build it with swarmctl release build`);
  let json: unknown;
  try {
    json = JSON.parse(out.manifest.toString('utf8'));
  } catch (err) {
    throw installError('SWARM_ERR_INSTALL_MANIFEST_INVALID', `${MANIFEST_FILE} is not valid JSON (or larger than 1 MiB): ${(err as Error).message}`, { cause: err });
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) throw installError('SWARM_ERR_INSTALL_MANIFEST_INVALID', `${MANIFEST_FILE} is invalid: ${formatZodIssues(parsed.error)}`);
  const manifest = parsed.data;
  const entry = manifest.entrypoint[0]!;
  const target = resolveInRelease(out.state, entry);
  if (!target) throw installError('SWARM_ERR_INSTALL_ENTRYPOINT_INVALID', `entrypoint ${JSON.stringify(entry)} is not in the release (missing, or a symlink that leaves it)`);
  if (target.kind !== 'file') throw installError('SWARM_ERR_INSTALL_ENTRYPOINT_INVALID', `entrypoint ${JSON.stringify(entry)} is a ${target.kind}, not a regular file`);
  if ((target.mode & 0o111) === 0) throw installError('SWARM_ERR_INSTALL_ENTRYPOINT_INVALID', `entrypoint ${JSON.stringify(entry)} is not executable (mode ${target.mode.toString(8)}); chmod +x it before building`);
  return manifest;
}

async function writeSidecar(dir: string, body: string): Promise<void> {
  const fh = await open(join(dir, SIDECAR_FILE), fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o644);
  try {
    await fh.writeFile(body);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** Already installed: read (and hash) the body anyway so a wrong id or a broken upload is still reported. */
async function returnExisting(req: InstallRequest, existing: InstalledRelease): Promise<InstalledRelease> {
  const sha = await hashBody(req.body, req.limits, req.signal);
  if (sha !== req.expectedId) {
    throw installError('SWARM_ERR_INSTALL_SHA256_MISMATCH', `the body's SHA-256 is ${sha} but the release id sent is ${req.expectedId}; the upload was corrupted or the id is wrong`);
  }
  return existing;
}

export async function installRelease(ctx: InstallContext, req: InstallRequest): Promise<InstalledRelease> {
  // A client reset before reading starts must not crash the process: its error resurfaces when the body is read.
  const emitter = req.body as Partial<NodeJS.EventEmitter>;
  const ignore = (): void => undefined;
  if (typeof emitter.on === 'function') emitter.on('error', ignore);
  try {
    return await installChecked(ctx, req);
  } finally {
    if (typeof emitter.off === 'function') emitter.off('error', ignore);
  }
}

async function installChecked(ctx: InstallContext, req: InstallRequest): Promise<InstalledRelease> {
  await checkBeforeStreaming(ctx, req);
  const existing = await findReleaseById(ctx.releasesDir, req.expectedId);
  if (existing) {
    ctx.logger.info({ release: req.expectedId, dir: existing.dirName }, 'release already installed');
    return returnExisting(req, existing);
  }
  const staged = await mkdtemp(join(ctx.stagingDir, 'install-'));
  const started = Date.now();
  let published = false;
  try {
    await chmod(staged, 0o755);
    const out = await extractRelease(req.body, staged, req.limits, req.signal);
    const manifest = checkExtracted(req, out);
    const dirName = releaseDirName(manifest.version, req.expectedId);
    await writeSidecar(staged, `${JSON.stringify({ id: req.expectedId, version: manifest.version, installedAt: ctx.now().toISOString() })}\n`);
    const extracted = Date.now();
    if (!(await ctx.syncFilesystem(staged))) {
      await out.syncs.drain();
      await fsyncDirs(out.dirs);
    }
    const synced = Date.now();
    const finalDir = join(ctx.releasesDir, dirName);
    try {
      await rename(staged, finalDir);
      published = true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err;
      // Installed meanwhile by a concurrent request for the same release, or a stranger holds the name.
      const there = await readInstalledRelease(ctx.releasesDir, dirName);
      if (there?.id === req.expectedId) return there;
      throw installError('SWARM_ERR_INSTALL_DIR_CONFLICT', `${finalDir} exists but does not hold release ${req.expectedId} (incomplete or foreign); remove it and resend`);
    }
    await fsyncDir(ctx.releasesDir);
    const installed = await readInstalledRelease(ctx.releasesDir, dirName);
    if (!installed) throw installError('SWARM_ERR_INSTALL_IO', `${finalDir} was written but cannot be read back`);
    ctx.logger.info({ release: req.expectedId, dir: dirName, bytes: out.compressedBytes, entries: out.state.entryCount, ms: Date.now() - started, extractMs: extracted - started, syncMs: synced - extracted }, 'release installed');
    return installed;
  } catch (err) {
    const e = classifyFailure(err, req.signal);
    ctx.logger.warn({ release: req.expectedId, code: (e as { code?: string }).code, err: e.message }, 'release refused');
    throw e;
  } finally {
    if (!published) await removeTree(staged);
  }
}
