// The PostgreSQL tables of release bytes: a blob per upload in fixed-size chunks (release_chunks), staged until the
// transaction that writes the release's record names it (releases.blob_id); readers fetch one chunk at a time by key.
import type { Pool } from 'pg';
import { inTransaction, PG_JSON, pgStatement, run } from './postgres-kit.js';
import { rowMappers, type ReleaseRow } from './rows.js';
import type { ReleaseBlobTables } from './store.js';

const { toRelease } = rowMappers(PG_JSON);

const S = {
  begin: pgStatement('begin_release_blob', 'INSERT INTO release_blobs (id, release_id, started_at) VALUES ($1, $2, $3)'),
  append: pgStatement('append_release_chunk', 'INSERT INTO release_chunks (blob_id, seq, data) VALUES ($1, $2, $3)'),
  insertRecord: pgStatement('insert_release_with_blob', `INSERT INTO releases (id, name, version, size, signature, uploaded_by, uploaded_at, blob_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING RETURNING *`),
  // A record from before blobs were kept here gets this upload's bytes (a size that disagrees is not the same release).
  attach: pgStatement('attach_release_blob', 'UPDATE releases SET blob_id = $1 WHERE id = $2 AND blob_id IS NULL AND size = $3 RETURNING *'),
  getRelease: pgStatement('get_release_for_blob', 'SELECT * FROM releases WHERE id = $1'),
  // Only a blob no record names: a committed one is never dropped (and the foreign key would refuse it anyway).
  discard: pgStatement('discard_release_blob', 'DELETE FROM release_blobs b WHERE b.id = $1 AND NOT EXISTS (SELECT 1 FROM releases r WHERE r.blob_id = b.id)'),
  find: pgStatement('find_release_blob', 'SELECT blob_id FROM releases WHERE id = $1 AND blob_id IS NOT NULL'),
  read: pgStatement('read_release_chunk', 'SELECT seq, data FROM release_chunks WHERE blob_id = $1 AND seq >= $2 ORDER BY seq LIMIT 1'),
  sweep: pgStatement('sweep_release_blobs', `DELETE FROM release_blobs b WHERE b.started_at < $1
    AND NOT EXISTS (SELECT 1 FROM releases r WHERE r.blob_id = b.id)`),
};

/** The release blob methods of the PostgreSQL store (`Store.releaseBlobs`). */
export function openPgReleaseBlobTables(pool: Pool, open: () => void): ReleaseBlobTables {
  return {
    beginReleaseBlob: async (blobId, releaseId, now) => {
      open();
      await run(pool, S.begin, blobId, releaseId, now);
    },
    appendReleaseChunk: async (blobId, seq, data) => {
      open();
      await run(pool, S.append, blobId, seq, Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    },
    commitReleaseBlob: async (blobId, r) => {
      open();
      return inTransaction(pool, async (c) => {
        const inserted = (await run<ReleaseRow>(c, S.insertRecord, r.id, r.name, r.version, r.size, r.signature, r.uploadedBy, r.uploadedAt, blobId)).rows[0];
        if (inserted) return { release: toRelease(inserted), created: true };
        // Recorded already (earlier, or by a concurrent upload that committed first: the insert waited for it).
        const attached = (await run<ReleaseRow>(c, S.attach, blobId, r.id, r.size)).rows[0];
        if (attached) return { release: toRelease(attached), created: false };
        await run(c, S.discard, blobId);
        return { release: toRelease((await run<ReleaseRow>(c, S.getRelease, r.id)).rows[0]!), created: false };
      });
    },
    discardReleaseBlob: async (blobId) => {
      open();
      await run(pool, S.discard, blobId);
    },
    findReleaseBlob: async (releaseId) => {
      open();
      return (await run<{ blob_id: string }>(pool, S.find, releaseId)).rows[0]?.blob_id;
    },
    readReleaseChunk: async (blobId, fromSeq) => {
      open();
      return (await run<{ seq: number; data: Buffer }>(pool, S.read, blobId, fromSeq)).rows[0];
    },
    sweepReleaseBlobs: async (before) => {
      open();
      return (await run(pool, S.sweep, before)).rowCount ?? 0;
    },
  };
}
