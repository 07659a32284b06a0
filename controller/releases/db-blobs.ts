// Release blobs in the database (PostgreSQL: replicas share it), in chunks of controller.release.chunk-bytes: an
// upload stages its chunks as they arrive and the record names them only once all are in and verified; a read
// fetches one chunk at a time, when its consumer has taken the previous one.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { LIMITS } from '../../shared/limits.js';
import { controllerError } from '../errors.js';
import { streamBody, type ReleaseBody } from '../rollout/release-body.js';
import type { ReleaseBlobTables, ReleaseRecord, Store } from '../store/store.js';
import { resolveStoredRelease, type ReleaseStore } from './blobs.js';
import type { ReleaseUploadLimits } from './limits.js';
import { receiveRelease, type BlobWriter, type ReceiveRequest } from './receive.js';

export interface DatabaseReleaseBlobsOptions {
  store: Store;
  /** The store's blob tables (`store.releaseBlobs`). */
  tables: ReleaseBlobTables;
  limits: ReleaseUploadLimits;
  /** PEM of the Ed25519 public key releases must be signed with (serve --release-signing-key). */
  signingPublicKeyPem?: string;
  /** Bytes per stored chunk (default controller.release.chunk-bytes; tests shrink it). */
  chunkBytes?: number;
}

/** Gathers the arriving bytes into chunks of exactly `chunkBytes` (the last one shorter) and appends each as it fills. */
class ChunkWriter implements BlobWriter {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #seq = 0;
  constructor(private readonly tables: ReleaseBlobTables, private readonly blobId: string, private readonly chunkBytes: number) {}

  async write(chunk: Buffer): Promise<void> {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.byteLength;
    while (this.#pendingBytes >= this.chunkBytes) {
      const all = Buffer.concat(this.#pending, this.#pendingBytes);
      const rest = all.subarray(this.chunkBytes);
      this.#pending = rest.byteLength > 0 ? [Buffer.from(rest)] : [];
      this.#pendingBytes = rest.byteLength;
      await this.tables.appendReleaseChunk(this.blobId, this.#seq++, all.subarray(0, this.chunkBytes));
    }
  }

  async finish(): Promise<void> {
    if (this.#pendingBytes > 0) await this.tables.appendReleaseChunk(this.blobId, this.#seq++, Buffer.concat(this.#pending, this.#pendingBytes));
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  async discard(): Promise<void> {
    this.#pending = [];
    await this.tables.discardReleaseBlob(this.blobId).catch(() => undefined);
  }
}

/** Checks an upload of a release whose bytes are stored already, keeping nothing of it. */
const nothingWriter: BlobWriter = { write: async () => undefined, finish: async () => undefined, discard: async () => undefined };

/**
 * A blob as a byte stream that fetches chunk `seq` only when asked for more (Readable calls `_read` once its buffer
 * is below the high-water mark, and not again before a push): one chunk ahead of its consumer at most. It fails,
 * instead of ending short, when a chunk is missing or the bytes do not add up to the record's size.
 */
class ChunkStream extends Readable {
  #seq = 0;
  #bytes = 0;
  constructor(private readonly tables: ReleaseBlobTables, private readonly blobId: string, private readonly release: ReleaseRecord) {
    super();
  }

  override _read(): void {
    this.tables.readReleaseChunk(this.blobId, this.#seq).then((row) => {
      if (this.destroyed) return;
      if (!row) {
        if (this.#bytes !== this.release.size) return this.destroy(this.#corrupt(`its chunks hold ${this.#bytes} bytes, the record says ${this.release.size}`));
        this.push(null);
        return;
      }
      if (row.seq !== this.#seq) return this.destroy(this.#corrupt(`chunk ${this.#seq} is missing`));
      this.#seq++;
      this.#bytes += row.data.byteLength;
      if (this.#bytes > this.release.size) return this.destroy(this.#corrupt(`its chunks hold more than the record's ${this.release.size} bytes`));
      this.push(row.data);
    }, (err: unknown) => this.destroy(err as Error));
  }

  #corrupt(why: string): Error {
    return controllerError('SWARM_ERR_STORE', `release ${this.release.id} is damaged in the database: ${why}; upload it again`);
  }
}

export class DatabaseReleaseBlobs implements ReleaseStore {
  readonly #chunkBytes: number;
  constructor(readonly options: DatabaseReleaseBlobsOptions) {
    this.#chunkBytes = options.chunkBytes ?? LIMITS['controller.release.chunk-bytes'].value;
  }

  get limits(): ReleaseUploadLimits {
    return this.options.limits;
  }

  async upload(req: ReceiveRequest, uploadedBy: string, now: number): Promise<{ release: ReleaseRecord; created: boolean }> {
    const { store, tables } = this.options;
    // Uploads whose controller died left staged chunks that nothing names: gone once no upload could still be running.
    await tables.sweepReleaseBlobs(now - 2 * this.options.limits.pace.deadlineMs).catch(() => undefined);
    const stored = await tables.findReleaseBlob(req.id);
    // Stored already: checked the same way, and nothing new is written.
    const blobId = stored === undefined ? randomUUID() : undefined;
    if (blobId !== undefined) await tables.beginReleaseBlob(blobId, req.id, now);
    const writer = blobId !== undefined ? new ChunkWriter(tables, blobId, this.#chunkBytes) : nothingWriter;
    const received = await receiveRelease(req, writer, {
      limits: this.options.limits,
      ...(this.options.signingPublicKeyPem !== undefined ? { signingPublicKeyPem: this.options.signingPublicKeyPem } : {}),
    });
    const record: ReleaseRecord = {
      id: received.id, name: received.manifest.name, version: received.manifest.version, size: received.size,
      signature: received.signature, uploadedBy, uploadedAt: now,
    };
    if (blobId === undefined) return store.insertRelease(record);
    try {
      // The record and its bytes become visible together (or, for a concurrent upload that lost, nothing of it).
      return await tables.commitReleaseBlob(blobId, record);
    } catch (err) {
      await writer.discard();
      throw err;
    }
  }

  resolve(ref: string): Promise<{ id: string; version: string }> {
    return resolveStoredRelease(this.options.store, ref);
  }

  async open(id: string): Promise<ReleaseRecord> {
    return (await this.#find(id)).release;
  }

  /** What a push sends: the chunks as the database gives them, one fetched per read. */
  async openBody(id: string): Promise<{ release: ReleaseRecord; body: ReleaseBody }> {
    const { release, stream } = await this.openStream(id);
    return { release, body: streamBody(stream) };
  }

  async openStream(id: string): Promise<{ release: ReleaseRecord; stream: Readable }> {
    const { release, blobId } = await this.#find(id);
    return { release, stream: new ChunkStream(this.options.tables, blobId, release) };
  }

  async #find(id: string): Promise<{ release: ReleaseRecord; blobId: string }> {
    const release = await this.options.store.getRelease(id);
    if (!release) throw controllerError('SWARM_ERR_RELEASE_NOT_FOUND', `no release ${id} is stored; see swarmctl release list`);
    const blobId = await this.options.tables.findReleaseBlob(id);
    if (blobId === undefined) {
      throw controllerError('SWARM_ERR_RELEASE_NOT_FOUND', `release ${id} is recorded but its bytes are not in the database (it was uploaded before release blobs were kept there); upload it again`);
    }
    return { release, blobId };
  }
}
