// Receive one release upload: stream the body through SHA-256 and a tar inspection into a blob writer (a temp file, or staged chunks in the database), finished only when whole and valid.
import { RatioGuard } from '../../shared/release/ratio-guard.js';
import { createHash, randomUUID } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract, type Extract, type Header } from 'tar-stream';
import { untilAborted } from '../../shared/abortable-iterate.js';
import { isSwarmError, type SwarmError } from '../../shared/errors.js';
import { ManifestSchema, MANIFEST_FILE, type Manifest } from '../../shared/release-manifest.js';
import { checkTarEntry, createExtractionState, recordEntry, recordSkipped } from '../../shared/release/entry-check.js';
import { verifyReleaseSignature } from '../../shared/release/sign.js';
import { formatZodIssues } from '../../shared/validation.js';
import { controllerError } from '../errors.js';
import type { ReleaseUploadLimits } from './limits.js';

const CHUNK = 64 * 1024;

export interface ReceiveRequest {
  /** The request body (already paced); read once, never buffered whole. */
  body: AsyncIterable<Uint8Array>;
  /** The id the uploader announced (x-swarm-release-sha256). */
  id: string;
  signature?: string;
  /** Aborted by the pacer or a client that left; the reason is the error answered. */
  signal: AbortSignal;
}

export interface ReceivedRelease {
  id: string;
  size: number;
  manifest: Manifest;
  signature: string | null;
}

/**
 * Where the bytes of one upload go while they are verified: a temp file (disk) or a staged blob (the database).
 * Nothing written is visible to readers until the caller publishes it after `finish`.
 */
export interface BlobWriter {
  /** Called in order with every compressed chunk as it arrives, awaited before the next (back-pressure). */
  write(chunk: Buffer): Promise<void>;
  /** Everything arrived and was verified: make it durable (still unpublished). */
  finish(): Promise<void>;
  /** The upload was refused or failed: remove whatever was written (best effort; never throws). */
  discard(): Promise<void>;
}

export interface ReceiveOptions {
  limits: ReleaseUploadLimits;
  /** When set, unsigned or badly signed uploads are refused. */
  signingPublicKeyPem?: string;
}

/** The path of a stored release's blob. */
export function releaseBlobPath(dir: string, id: string): string {
  return join(dir, `${id}.tar.gz`);
}

/**
 * Receive one upload: hash and count the compressed bytes (refusing past max-bytes), hand them to `writer` and,
 * from the same chunks, gunzip and read every tar entry header through the installer's own check (checkTarEntry),
 * keeping only the manifest. Then: the hash must be the announced id, the manifest valid, the signature good (when
 * the controller requires one); only then is the writer finished. On any refusal the writer discards what it got.
 */
export async function receiveRelease(req: ReceiveRequest, writer: BlobWriter, options: ReceiveOptions): Promise<ReceivedRelease> {
  try {
    const inspected = await inspectInto(req, writer, options.limits);
    if (inspected.sha256 !== req.id) {
      throw controllerError('SWARM_ERR_RELEASE_HASH_MISMATCH', `the uploaded bytes have SHA-256 ${inspected.sha256}, not ${req.id} (x-swarm-release-sha256); nothing was stored, resend`);
    }
    const manifest = parseManifest(inspected.manifest);
    const signature = req.signature ?? null;
    if (options.signingPublicKeyPem !== undefined) {
      if (signature === null) throw controllerError('SWARM_ERR_RELEASE_SIGNATURE_MISSING', 'this controller requires signed releases and the upload carried none; sign it (swarmctl release build --sign-key) and upload it with its .sig');
      if (!verifyReleaseSignature(req.id, signature, options.signingPublicKeyPem)) {
        throw controllerError('SWARM_ERR_RELEASE_SIGNATURE_INVALID', `the signature does not verify release ${req.id} against the controller's release-signing key; nothing was stored`);
      }
    }
    await writer.finish();
    return { id: req.id, size: inspected.size, manifest, signature };
  } catch (err) {
    await writer.discard();
    throw err;
  }
}

/** A temp file in `dir` (so the final rename never crosses a file system), fsynced and renamed to `<id>.tar.gz` by `publish`. */
export class TempFileWriter implements BlobWriter {
  readonly #tmp: string;
  #fh: FileHandle | undefined;
  constructor(readonly dir: string) {
    this.#tmp = join(dir, `.upload-${randomUUID()}.tmp`);
  }
  async write(chunk: Buffer): Promise<void> {
    this.#fh ??= await open(this.#tmp, 'wx', 0o640);
    let off = 0;
    while (off < chunk.byteLength) off += (await this.#fh.write(chunk, off, chunk.byteLength - off)).bytesWritten;
  }
  async finish(): Promise<void> {
    this.#fh ??= await open(this.#tmp, 'wx', 0o640);
    await this.#fh.sync();
    await this.#fh.close();
    this.#fh = undefined;
  }
  /** After `finish`: the file becomes `<dir>/<id>.tar.gz` (same id, same bytes: replacing an earlier copy changes nothing a reader could see). */
  async publish(id: string): Promise<string> {
    const path = releaseBlobPath(this.dir, id);
    await rename(this.#tmp, path);
    await syncDir(this.dir);
    return path;
  }
  async discard(): Promise<void> {
    await this.#fh?.close().catch(() => undefined);
    this.#fh = undefined;
    await rm(this.#tmp, { force: true }).catch(() => undefined);
  }
}

async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

function parseManifest(bytes: Buffer | undefined): Manifest {
  if (bytes === undefined) throw invalid('SWARM_ERR_INSTALL_MANIFEST_MISSING', `the upload has no ${MANIFEST_FILE} regular file at its root; build releases with swarmctl release build`);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalid('SWARM_ERR_INSTALL_MANIFEST_INVALID', `${MANIFEST_FILE} is not valid JSON: ${(err as Error).message}`);
  }
  const r = ManifestSchema.safeParse(json);
  if (!r.success) throw invalid('SWARM_ERR_INSTALL_MANIFEST_INVALID', `${MANIFEST_FILE} is invalid: ${formatZodIssues(r.error)}`);
  return r.data;
}

/** SWARM_ERR_RELEASE_INVALID carrying the installer's code for the same refusal in details.reason. */
function invalid(reason: string, message: string): SwarmError {
  return controllerError('SWARM_ERR_RELEASE_INVALID', `not a valid release: ${message}; nothing was stored`, { details: { reason } });
}

function tooLarge(message: string): SwarmError {
  return controllerError('SWARM_ERR_RELEASE_TOO_LARGE', `${message}; nothing was stored`);
}

/** Hashes, counts (refusing past the cap) and hands every compressed chunk to the writer before passing it on. */
class StoreAndHash extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly writer: BlobWriter, private readonly max: number) {
    super({ highWaterMark: CHUNK });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.byteLength;
    if (this.bytes > this.max) return cb(tooLarge(`the release is larger than ${this.max} bytes (controller.release.max-bytes)`));
    this.hash.update(chunk);
    void this.writer.write(chunk).then(() => cb(null, chunk), (err: unknown) => cb(err as Error));
  }
}



/** Feeds tar-stream's extractor (a streamx Writable) with back-pressure; fails when it dies. */
function tarSink(extract: Extract, failed: () => unknown): Writable {
  const settle = (event: 'drain' | 'finish', cb: (err?: Error | null) => void): void => {
    // Its 'close' may already have gone by (a refusal while the last chunk was parsed).
    if (extract.destroyed) return cb((failed() as Error | undefined) ?? new Error('tar extraction stopped (premature close)'));
    const done = (err?: unknown): void => {
      extract.off(event, onEvent);
      extract.off('close', onClose);
      cb(err === undefined ? null : (err as Error));
    };
    const onEvent = (): void => done();
    const onClose = (): void => done(failed() ?? new Error('tar extraction stopped (premature close)'));
    extract.on(event, onEvent);
    extract.on('close', onClose);
  };
  return new Writable({
    highWaterMark: CHUNK,
    write(chunk: Buffer, _enc, cb) {
      if (extract.destroyed) return cb((failed() as Error | undefined) ?? new Error('tar extraction stopped (premature close)'));
      if (extract.write(chunk)) return cb();
      settle('drain', cb);
    },
    final(cb) {
      settle('finish', cb);
      if (!extract.destroyed) extract.end(undefined);
    },
  });
}

interface Inspected {
  sha256: string;
  size: number;
  manifest: Buffer | undefined;
}

async function inspectInto(req: ReceiveRequest, writer: BlobWriter, limits: ReleaseUploadLimits): Promise<Inspected> {
  const state = createExtractionState();
  const tarLimits = { maxEntries: limits.maxEntries, maxPathBytes: limits.maxPathBytes, maxUnpackedBytes: limits.maxUnpackedBytes };
  const store = new StoreAndHash(writer, limits.maxBytes);
  const extract = tarExtract();
  let failure: unknown;
  let manifest: Buffer | undefined;
  const fail = (err: unknown): void => {
    failure ??= err;
    if (!extract.destroyed) extract.destroy(failure as Error);
  };
  extract.on('error', (err: unknown) => fail(err));
  extract.on('entry', (header: Header, stream, next) => {
    stream.on('error', () => undefined);
    const decision = checkTarEntry(header, state, tarLimits);
    if (!decision.ok) {
      const refusal = decision.code === 'SWARM_ERR_TAR_TOO_LARGE' || decision.code === 'SWARM_ERR_TAR_TOO_MANY_ENTRIES'
        ? tooLarge(decision.message)
        : invalid(decision.code, decision.message);
      fail(refusal);
      return;
    }
    if (decision.action === 'skip') recordSkipped(state);
    else recordEntry(state, decision);
    const keep = decision.action === 'file' && decision.path === MANIFEST_FILE;
    if (decision.action !== 'skip' && decision.path === MANIFEST_FILE && !keep) {
      fail(invalid('SWARM_ERR_INSTALL_MANIFEST_MISSING', `${MANIFEST_FILE} is not a regular file`));
      return;
    }
    const chunks: Buffer[] = [];
    let kept = 0;
    stream.on('data', (data: unknown) => {
      const chunk = data as Buffer;
      if (!keep) return;
      kept += chunk.byteLength;
      if (kept <= limits.manifestBytes) chunks.push(chunk);
    });
    stream.on('end', () => {
      if (keep) {
        if (kept > limits.manifestBytes) return fail(invalid('SWARM_ERR_INSTALL_MANIFEST_INVALID', `${MANIFEST_FILE} is larger than ${limits.manifestBytes} bytes`));
        manifest = Buffer.concat(chunks);
      }
      next();
    });
  });
  try {
    await pipeline(
      Readable.from(untilAborted(req.body, req.signal), { objectMode: false, highWaterMark: CHUNK }),
      store,
      createGunzip({ chunkSize: CHUNK }),
      new RatioGuard(() => store.bytes, limits.maxRatio, () => tooLarge(`the release decompresses more than ${limits.maxRatio} times its compressed size (controller.release.max-ratio)`)),
      tarSink(extract, () => failure),
      { signal: req.signal },
    );
    if (failure !== undefined) throw failure;
  } catch (err) {
    fail(err);
    throw classify(failure, req.signal);
  }
  return { sha256: store.hash.digest('hex'), size: store.bytes, manifest };
}

/** The first failure, in the controller's codes: the pacer's or client's reason, ours, or gzip/tar corruption. */
function classify(err: unknown, signal: AbortSignal): unknown {
  if (signal.aborted && isSwarmError(signal.reason)) return signal.reason;
  if (isSwarmError(err)) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  if (typeof e?.code === 'string' && e.code.startsWith('Z_')) return invalid('SWARM_ERR_INSTALL_CORRUPT', `the body is not valid gzip (${e.message})`);
  if (typeof e?.code === 'string' && typeof e.syscall === 'string') return err;
  if (/Unexpected end of data/i.test(e?.message ?? '')) return invalid('SWARM_ERR_TAR_TRUNCATED', 'the body ended before the archive did');
  return invalid('SWARM_ERR_INSTALL_CORRUPT', `the body is not a complete, valid tar (${e?.message ?? String(err)})`);
}
