// Streams a release body through SHA-256, gunzip and tar-stream into a fresh directory, checking every entry.
import { createHash } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { chmod, mkdir, open, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
// Pinned exactly in package.json (no ^): watchEndOfArchive and refuseEarlyEnd below patch tar-stream's private
// Extract._consumeHeader and _final, which any release may change; bump it only with the tar tests green.
import { extract as tarExtract, type Header } from 'tar-stream';

/** The body of one tar entry (a streamx Readable). */
type Source = AsyncIterable<Buffer> & { resume(): unknown };
import { MANIFEST_FILE } from '../../shared/release-manifest.js';
import { untilAborted } from '../../shared/abortable-iterate.js';
import { isSwarmError } from '../../shared/errors.js';
import { checkTarEntry, createExtractionState, recordEntry, recordSkipped, type ExtractionState } from './entry-check.js';
import { installError } from './errors.js';
import type { InstallLimits } from './limits.js';
import { RatioGuard } from '../../shared/release/ratio-guard.js';
import { SyncQueue } from './sync-queue.js';
import { SMALL_FILE_BYTES, WritePool, writeNewFile } from './write-pool.js';

/** A manifest bigger than this is not a manifest. */
const MAX_MANIFEST_BYTES = 1024 * 1024;
const CHUNK = 64 * 1024;
const UMASK = process.umask();

/** Hashes and counts the compressed bytes; refuses past maxCompressedBytes. */
export class CompressedMeter extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly max: number) {
    super({ highWaterMark: CHUNK });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.byteLength;
    if (this.bytes > this.max) {
      cb(installError('SWARM_ERR_INSTALL_TOO_LARGE', `the release is larger than ${this.max} compressed bytes (limits.maxCompressedBytes)`));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}


/** Turns the request body into a Node stream whose failures read as "the upload broke". */
async function* readBody(body: NodeJS.ReadableStream | AsyncIterable<Uint8Array>, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  // A refusal stops reading but never destroys the body: the HTTP caller still has to answer on that connection.
  const readable = body as { iterator?: (o: { destroyOnReturn: boolean }) => AsyncIterable<Uint8Array | string> };
  const source = typeof readable.iterator === 'function' ? readable.iterator({ destroyOnReturn: false }) : (body as AsyncIterable<Uint8Array | string>);
  // A stalled client never settles a read: the abort must win it, or the operation waits for the socket forever.
  const chunks = untilAborted(source, signal, abortReason);
  try {
    for await (const chunk of chunks) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  } catch (err) {
    if (isSwarmError(err)) throw err;
    // The body failed because its sender went away, and the caller already said so (the connection closed): its reason.
    if (signal?.aborted && isSwarmError(signal.reason)) throw signal.reason;
    throw installError('SWARM_ERR_INSTALL_ABORTED', `the release upload failed before its end: ${(err as Error).message}`, { cause: err });
  }
}

/** The reason an install was cancelled: the canceller's own error when it gave one (too slow, pre-empted...). */
function abortReason(signal: AbortSignal): Error {
  if (isSwarmError(signal.reason)) return signal.reason;
  return installError('SWARM_ERR_INSTALL_ABORTED', 'the install was cancelled (client gone); staging was cleaned');
}

/** Map low-level failures (zlib, tar-stream, fs) onto the catalogue. */
export function classifyFailure(err: unknown, signal?: AbortSignal): Error {
  if (isSwarmError(err)) return err;
  const e = err as NodeJS.ErrnoException;
  if (signal?.aborted && isSwarmError(signal.reason)) return signal.reason;
  if (signal?.aborted || e?.name === 'AbortError' || e?.code === 'ABORT_ERR') {
    return installError('SWARM_ERR_INSTALL_ABORTED', 'the install was cancelled (client gone); staging was cleaned', { cause: err });
  }
  if (typeof e?.code === 'string' && e.code.startsWith('Z_')) {
    return installError('SWARM_ERR_INSTALL_CORRUPT', `the release is not valid gzip: ${e.message}`, { cause: err });
  }
  if (e?.code === 'ENOSPC' || e?.code === 'EDQUOT') {
    return installError('SWARM_ERR_INSTALL_NO_SPACE', `no space left while installing (${e.code} at ${e.path ?? 'unknown path'}); free space or prune releases`, { cause: err });
  }
  if (typeof e?.code === 'string' && typeof e.syscall === 'string') {
    return installError('SWARM_ERR_INSTALL_IO', `${e.syscall} ${e.path ?? ''} failed while installing: ${e.code}`, { cause: err });
  }
  // What is left comes from tar-stream: bad header checksum, unknown format, an oversized extended header.
  if (e?.message === 'Header exceeds max size') {
    return installError('SWARM_ERR_INSTALL_CORRUPT', 'the release is not a valid tar: a PAX or GNU long-name header claims more than 4 MiB (no real release has one)', { cause: err });
  }
  return installError('SWARM_ERR_INSTALL_CORRUPT', `the release is not a complete, valid tar: ${e?.message ?? String(err)}`, { cause: err });
}

export interface ExtractOutcome {
  /** SHA-256 (hex) of every byte of the body. */
  sha256: string;
  compressedBytes: number;
  state: ExtractionState;
  /** The root manifest's bytes, when the release had one as a regular file. */
  manifest: Buffer | undefined;
  /** Set when swarm-release.json exists but is not a regular file. */
  manifestNotFile: boolean;
  /** Every directory written (root included), to fsync. */
  dirs: Set<string>;
  /** Files written, to fsync (drain()) before the directory is published. */
  syncs: SyncQueue;
}

/**
 * Extract the body into root (an empty directory). Throws a SwarmError on any refusal, once nothing
 * is in flight any more; the caller removes root. On success every file is written and closed, and
 * outcome.syncs / outcome.dirs say what to fsync before publishing.
 */
export async function extractRelease(
  body: NodeJS.ReadableStream | AsyncIterable<Uint8Array>,
  root: string,
  limits: InstallLimits,
  signal?: AbortSignal,
): Promise<ExtractOutcome> {
  const state = createExtractionState();
  const syncs = new SyncQueue();
  const dirs = new Set<string>([root]);
  const meter = new CompressedMeter(limits.maxCompressedBytes);
  const out: ExtractOutcome = { sha256: '', compressedBytes: 0, state, manifest: undefined, manifestNotFile: false, dirs, syncs };
  let failure: unknown;
  let current: Promise<void> = Promise.resolve();
  // A refusal inside an entry must stop the whole pipeline at once, not at the next body chunk.
  const stop = new AbortController();
  const fail = (err: unknown): void => {
    failure ??= err;
    stop.abort(failure);
  };
  const writes = new WritePool(fail);

  const makeDir = async (rel: string): Promise<void> => {
    const abs = join(root, rel);
    await mkdir(abs, 0o755);
    if (UMASK & 0o755) await chmod(abs, 0o755);
    dirs.add(abs);
  };

  const writeEntry = async (header: Header, stream: Source): Promise<void> => {
    const decision = checkTarEntry(header, state, limits);
    if (!decision.ok) throw installError(decision.code, decision.message);
    if (decision.action === 'skip') {
      recordSkipped(state);
      return;
    }
    for (const parent of decision.parents) await makeDir(parent);
    const abs = join(root, decision.path);
    if (decision.path === MANIFEST_FILE && decision.action !== 'file') out.manifestNotFile = true;
    if (decision.action === 'directory') {
      if (!decision.existing) await makeDir(decision.path);
    } else if (decision.action === 'symlink') {
      await symlink(decision.target!, abs);
    } else if (decision.size <= SMALL_FILE_BYTES) {
      const chunks: Buffer[] = [];
      let written = 0;
      for await (const chunk of stream) {
        written += chunk.byteLength;
        chunks.push(chunk);
      }
      if (written !== decision.size) throw installError('SWARM_ERR_INSTALL_CORRUPT', `tar entry ${decision.path} is truncated`);
      if (decision.path === MANIFEST_FILE) out.manifest = Buffer.concat(chunks);
      const mode = decision.mode;
      await writes.submit(() => writeNewFile(abs, chunks, mode, (UMASK & mode) !== 0));
      syncs.addPath(abs);
    } else {
      // O_EXCL + O_NOFOLLOW: never through or onto anything that already exists.
      const fh = await open(abs, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, decision.mode);
      let written = 0;
      const keep: Buffer[] | undefined = decision.path === MANIFEST_FILE ? [] : undefined;
      try {
        for await (const chunk of stream) {
          written += chunk.byteLength;
          if (keep && written <= MAX_MANIFEST_BYTES) keep.push(chunk);
          let off = 0;
          while (off < chunk.byteLength) off += (await fh.write(chunk, off, chunk.byteLength - off)).bytesWritten;
        }
        if (written !== decision.size) throw installError('SWARM_ERR_INSTALL_CORRUPT', `tar entry ${decision.path} is truncated`);
        if (UMASK & decision.mode) await fh.chmod(decision.mode);
      } finally {
        await fh.close();
      }
      syncs.addPath(abs);
      if (keep) out.manifest = written <= MAX_MANIFEST_BYTES ? Buffer.concat(keep) : Buffer.alloc(MAX_MANIFEST_BYTES + 1);
    }
    recordEntry(state, decision);
  };

  const extract = tarExtract();
  const ended = watchEndOfArchive(extract);
  refuseEarlyEnd(extract);
  // tar-stream may fail inside a write() that already returned (an extended header past its 4 MiB cap): record
  // it at once, or the last chunk's failure goes unnoticed and the end waits for a 'finish' that never comes.
  extract.on('error', (err: unknown) => fail(err));
  extract.on('entry', (header, stream, next) => {
    // Destroying the extractor destroys the entry stream with the reason; we already hold it.
    stream.on('error', () => undefined);
    const entry = ended()
      ? Promise.reject(installError('SWARM_ERR_TAR_DATA_AFTER_END', `tar entry ${JSON.stringify(header.name.slice(0, 200))} comes after the end-of-archive marker (a second archive appended?): tar -t would not list it; rebuild the release as one archive`))
      : writeEntry(header, stream as unknown as Source);
    current = entry.then(
      () => {
        // Anything left in a skipped or refused body must still be read for tar-stream to move on.
        stream.resume();
        next();
      },
      (err: unknown) => {
        fail(err);
        stream.resume();
        next(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });

  const feedTar = async (source: AsyncIterable<Buffer>): Promise<void> => {
    const waitFor = (event: 'drain' | 'finish'): Promise<void> =>
      new Promise((resolve, reject) => {
        const cleanup = (): void => {
          extract.off(event, onEvent);
          extract.off('error', onError);
          extract.off('close', onClose);
        };
        const onEvent = (): void => (cleanup(), resolve());
        const onError = (err: unknown): void => (cleanup(), reject(failure ?? err));
        const onClose = (): void => (cleanup(), reject(failure ?? new Error('tar extraction stopped (premature close)')));
        extract.on(event, onEvent);
        extract.on('error', onError);
        extract.on('close', onClose);
      });
    const stopped = (): Error | undefined => {
      if (failure !== undefined) return failure as Error;
      if (extract.destroyed || extract.destroying) return new Error('tar extraction stopped (premature close)');
      return undefined;
    };
    for await (const chunk of source) {
      const why = stopped();
      if (why) throw why;
      if (!extract.write(chunk)) await waitFor('drain');
    }
    // The extractor may have died on the last chunk; its 'error' and 'close' are then already gone by.
    const why = stopped();
    if (why) throw why;
    const finished = waitFor('finish');
    extract.end(undefined);
    await finished;
  };

  const cancel = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  try {
    await pipeline(
      Readable.from(readBody(body, cancel), { objectMode: false, highWaterMark: CHUNK }),
      meter,
      createGunzip({ chunkSize: CHUNK }),
      new RatioGuard(() => meter.bytes, limits.maxCompressionRatio, (unpacked, compressed) => installError('SWARM_ERR_INSTALL_RATIO_EXCEEDED', `the release decompresses more than ${limits.maxCompressionRatio} times its compressed size (limits.maxCompressionRatio): ${unpacked} bytes from ${compressed}`)),
      feedTar,
      { signal: cancel },
    );
    await current;
    await writes.drain();
    if (failure !== undefined) throw failure;
  } catch (err) {
    // The first failure is the reason; what destroying the rest throws afterwards is noise.
    failure ??= err;
    if (!extract.destroyed) extract.destroy(null);
    await current.catch(() => undefined);
    await writes.settle();
    throw classifyFailure(failure ?? err, signal);
  }
  out.sha256 = meter.digest();
  out.compressedBytes = meter.bytes;
  return out;
}

/**
 * GNU tar ends an archive at its first zero block; tar-stream skips zero blocks and reads on, so entries of a
 * second archive appended after the end would be installed although `tar -t` never lists them. Returns whether
 * a zero block has been read. Hooks tar-stream's header step (3.x); a test appends a second archive to catch a change.
 */
function watchEndOfArchive(extract: object): () => boolean {
  const parser = extract as { _consumeHeader?: () => boolean; _header?: unknown };
  const consume = parser._consumeHeader;
  if (typeof consume !== 'function') throw new Error('tar-stream changed: Extract._consumeHeader is gone (end-of-archive check)');
  let seen = false;
  parser._consumeHeader = function consumeHeader(this: typeof parser): boolean {
    const consumed = consume.call(this);
    if (consumed && this._header === null) seen = true;
    return consumed;
  };
  return () => seen;
}

/**
 * tar-stream reports a body that ends inside an entry or an extended header as a bare "Unexpected end of data":
 * name it, with how much the archive still claimed. Hooks Extract._final (3.x); the truncation tests catch a change.
 */
function refuseEarlyEnd(extract: object): void {
  type Final = (cb: (err?: Error | null) => void) => void;
  const parser = extract as { _final?: Final; _missing?: number; _buffer?: { buffered?: number } };
  const final = parser._final;
  if (typeof final !== 'function') throw new Error('tar-stream changed: Extract._final is gone (truncation check)');
  parser._final = function finalChecked(this: typeof parser, cb: (err?: Error | null) => void): void {
    final.call(this, (err) => {
      if (!err) return cb(null);
      const missing = this._missing ?? 0;
      const partial = this._buffer?.buffered ?? 0;
      cb(installError('SWARM_ERR_TAR_TRUNCATED', `the body ended before the archive did (${missing > 0 ? `the last entry or header claims ${missing} more bytes` : `${partial} bytes of an incomplete header`}); send the whole release`));
    });
  };
}

/** Read the whole body only to hash it (a release that is already installed). */
export async function hashBody(body: NodeJS.ReadableStream | AsyncIterable<Uint8Array>, limits: InstallLimits, signal?: AbortSignal): Promise<string> {
  const meter = new CompressedMeter(limits.maxCompressedBytes);
  try {
    await pipeline(Readable.from(readBody(body, signal), { objectMode: false, highWaterMark: CHUNK }), meter, async (source: AsyncIterable<Buffer>) => {
      for await (const _ of source) void _;
    }, signal ? { signal } : {});
  } catch (err) {
    throw classifyFailure(err, signal);
  }
  return meter.digest();
}
