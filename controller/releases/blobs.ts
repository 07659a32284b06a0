// The release store's front: upload (blob on disk + record in the store) and open (what the rollout engine streams to updaters).
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { controllerError } from '../errors.js';
import type { ReleaseRecord, Store } from '../store/store.js';
import type { ReleaseUploadLimits } from './limits.js';
import { receiveRelease, releaseBlobPath, type ReceiveRequest } from './receive.js';

/** A stored release and where its tarball is (stream it from there; never read it whole). */
export interface OpenedRelease extends ReleaseRecord {
  path: string;
}

/** What the rollout engine needs of the release store (its `ReleaseSource`). */
export interface ReleaseBlobs {
  /** The release with this exact id and its blob's path; SWARM_ERR_RELEASE_NOT_FOUND when either is missing. */
  open(id: string): Promise<OpenedRelease>;
  /** A read stream of the blob, opened before it resolves. */
  openStream(id: string): Promise<{ release: ReleaseRecord; stream: Readable }>;
}

export interface DiskReleaseBlobsOptions {
  /** `<state-dir>/releases` (made by init, checked by state-perms). */
  dir: string;
  store: Store;
  limits: ReleaseUploadLimits;
  /** PEM of the Ed25519 public key releases must be signed with (serve --release-signing-key). */
  signingPublicKeyPem?: string;
}

export class DiskReleaseBlobs implements ReleaseBlobs {
  constructor(readonly options: DiskReleaseBlobsOptions) {}

  /** Receive one upload and record it; `created` is false when this id was stored before (the stored record comes back). */
  async upload(req: ReceiveRequest, uploadedBy: string, now: number): Promise<{ release: ReleaseRecord; created: boolean }> {
    const received = await receiveRelease(req, {
      dir: this.options.dir, limits: this.options.limits,
      ...(this.options.signingPublicKeyPem !== undefined ? { signingPublicKeyPem: this.options.signingPublicKeyPem } : {}),
    });
    // The blob is in place before the record: a record never names a missing file (a crash between leaves an orphan blob, which the next upload of it reuses).
    return this.options.store.insertRelease({
      id: received.id, name: received.manifest.name, version: received.manifest.version, size: received.size,
      signature: received.signature, uploadedBy, uploadedAt: now,
    });
  }

  /** A RELEASE reference (an id, a unique 8+ hex prefix or a version) to the one stored release it names. */
  async resolve(ref: string): Promise<{ id: string; version: string }> {
    const r = await this.options.store.resolveRelease(ref);
    if (r.ok) return { id: r.release.id, version: r.release.version };
    if (r.reason === 'unknown') throw controllerError('SWARM_ERR_RELEASE_NOT_FOUND', `no release matches "${ref}" (an id, a unique prefix of 8+ hex, or a version); see swarmctl release list`);
    throw controllerError('SWARM_ERR_RELEASE_AMBIGUOUS', `"${ref}" matches ${r.candidates.length} releases (${r.candidates.map((c) => `${c.version} ${c.id.slice(0, 12)}`).join(', ')}); give more of the id`);
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
