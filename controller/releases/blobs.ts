// The release store's front: upload (blob + record), resolve, and open (what the rollout engine streams to updaters).
// Two places for the bytes: files in `<state-dir>/releases/` (SQLite: one controller) and chunks in the database
// (PostgreSQL: every replica streams every release; db-blobs.ts).
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { controllerError } from '../errors.js';
import { fileBody, type ReleaseBody } from '../rollout/release-body.js';
import type { ReleaseRecord, Store } from '../store/store.js';
import type { ReleaseUploadLimits } from './limits.js';
import { receiveRelease, releaseBlobPath, TempFileWriter, type ReceiveRequest } from './receive.js';

/** A stored release and where its tarball is (stream it from there; never read it whole). */
export interface OpenedRelease extends ReleaseRecord {
  path: string;
}

/** What the rollout engine needs of the release store (its `ReleaseSource`). */
export interface ReleaseBlobs {
  /** The release with this exact id, whose bytes are stored; SWARM_ERR_RELEASE_NOT_FOUND when either is missing. */
  open(id: string): Promise<ReleaseRecord>;
  /** A read stream of the blob (it reads as it is consumed, never the whole release at once), opened before it resolves. */
  openStream(id: string): Promise<{ release: ReleaseRecord; stream: Readable }>;
  /** What a push sends (the rollout engine's ReleaseSource): a body read as the connection takes it. */
  openBody(id: string): Promise<{ release: ReleaseRecord; body: ReleaseBody }>;
}

/** The release store the routes use: upload, references, and the blobs. */
export interface ReleaseStore extends ReleaseBlobs {
  readonly limits: ReleaseUploadLimits;
  /** Receive one upload and record it; `created` is false when this id was stored before (the stored record comes back). */
  upload(req: ReceiveRequest, uploadedBy: string, now: number): Promise<{ release: ReleaseRecord; created: boolean }>;
  /** A RELEASE reference (an id, a unique 8+ hex prefix or a version) to the one stored release it names. */
  resolve(ref: string): Promise<{ id: string; version: string }>;
}

/** `resolve` of both release stores: the one stored release a reference names, or a coded refusal. */
export async function resolveStoredRelease(store: Store, ref: string): Promise<{ id: string; version: string }> {
  const r = await store.resolveRelease(ref);
  if (r.ok) return { id: r.release.id, version: r.release.version };
  if (r.reason === 'unknown') throw controllerError('SWARM_ERR_RELEASE_NOT_FOUND', `no release matches "${ref}" (an id, a unique prefix of 8+ hex, or a version); see swarmctl release list`);
  throw controllerError('SWARM_ERR_RELEASE_AMBIGUOUS', `"${ref}" matches ${r.candidates.length} releases (${r.candidates.map((c) => `${c.version} ${c.id.slice(0, 12)}`).join(', ')}); give more of the id`);
}

export interface DiskReleaseBlobsOptions {
  /** `<state-dir>/releases` (made by init, checked by state-perms). */
  dir: string;
  store: Store;
  limits: ReleaseUploadLimits;
  /** PEM of the Ed25519 public key releases must be signed with (serve --release-signing-key). */
  signingPublicKeyPem?: string;
}

/** Blobs as files `<dir>/<id>.tar.gz` (a SQLite controller, alone with its state directory). */
export class DiskReleaseBlobs implements ReleaseStore {
  constructor(readonly options: DiskReleaseBlobsOptions) {}

  get limits(): ReleaseUploadLimits {
    return this.options.limits;
  }

  async upload(req: ReceiveRequest, uploadedBy: string, now: number): Promise<{ release: ReleaseRecord; created: boolean }> {
    const writer = new TempFileWriter(this.options.dir);
    const received = await receiveRelease(req, writer, {
      limits: this.options.limits,
      ...(this.options.signingPublicKeyPem !== undefined ? { signingPublicKeyPem: this.options.signingPublicKeyPem } : {}),
    });
    try {
      await writer.publish(received.id);
    } catch (err) {
      await writer.discard();
      throw err;
    }
    // The blob is in place before the record: a record never names a missing file (a crash between leaves an orphan blob, which the next upload of it reuses).
    return this.options.store.insertRelease({
      id: received.id, name: received.manifest.name, version: received.manifest.version, size: received.size,
      signature: received.signature, uploadedBy, uploadedAt: now,
    });
  }

  resolve(ref: string): Promise<{ id: string; version: string }> {
    return resolveStoredRelease(this.options.store, ref);
  }

  async open(id: string): Promise<OpenedRelease> {
    const release = await this.options.store.getRelease(id);
    if (!release) throw controllerError('SWARM_ERR_RELEASE_NOT_FOUND', `no release ${id} is stored; see swarmctl release list`);
    const path = releaseBlobPath(this.options.dir, id);
    try {
      await access(path);
    } catch (err) {
      throw controllerError('SWARM_ERR_RELEASE_NOT_FOUND', `release ${id} is recorded but its file ${path} is missing; upload it again`, { cause: err });
    }
    return { ...release, path };
  }

  /** What a push sends: the file read into one buffer, again for every chunk (see fileBody). */
  async openBody(id: string): Promise<{ release: ReleaseRecord; body: ReleaseBody }> {
    const { path, ...release } = await this.open(id);
    return { release, body: fileBody(path, release) };
  }

  async openStream(id: string): Promise<{ release: ReleaseRecord; stream: Readable }> {
    const { path, ...release } = await this.open(id);
    const stream = createReadStream(path);
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    return { release, stream };
  }
}
