// Reproducible release tarballs: sorted entries, fixed metadata, fixed gzip header; same input, same bytes.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants as zc, createGzip } from 'node:zlib';
import { pack, type Header } from 'tar-stream';

type Headers = Partial<Header> & { name: string };
import { releaseBuildError } from './errors.js';
import { collectSourceEntries, type SourceEntry } from './source-tree.js';

export interface BuildOptions {
  /** Overrides the manifest's version (the manifest inside the tarball is rewritten). */
  version?: string;
  /** gzip level (default 6). */
  level?: number;
}

/** Every entry carries the same metadata so the bytes depend only on names, modes and contents. */
const FIXED = { mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '' } as const;

function headerOf(entry: SourceEntry): Headers {
  switch (entry.kind) {
    case 'directory':
      return { ...FIXED, name: entry.path, type: 'directory', mode: 0o755 };
    case 'file':
      return { ...FIXED, name: entry.path, type: 'file', mode: entry.mode, size: entry.size };
    case 'manifest':
      return { ...FIXED, name: entry.path, type: 'file', mode: 0o644, size: entry.content.byteLength };
    case 'symlink':
      return { ...FIXED, name: entry.path, type: 'symlink', mode: 0o777, linkname: entry.target };
  }
}

async function packEntries(entries: SourceEntry[], out: ReturnType<typeof pack>): Promise<void> {
  for (const entry of entries) {
    const header = headerOf(entry);
    if (entry.kind === 'file') {
      const sink = out.entry(header);
      try {
        await pipeline(createReadStream(entry.absPath), sink as unknown as NodeJS.WritableStream);
      } catch (err) {
        throw releaseBuildError('SWARM_ERR_RELEASE_BUILD_SOURCE', `${entry.path} could not be read whole (changed while building?): ${(err as Error).message}`, { cause: err });
      }
    } else {
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error | null): void => (err ? reject(err) : resolve());
        if (entry.kind === 'manifest') out.entry(header, entry.content, done);
        else out.entry(header, done);
      });
    }
  }
  out.finalize();
}

/** The gzip'd tar of dir as a stream (the manifest is validated before the stream starts). */
export async function buildReleaseStream(dir: string, options: BuildOptions = {}): Promise<Readable> {
  const entries = await collectSourceEntries(dir, options);
  const tar = pack();
  // Node's gzip header has no name and mtime 0; only the OS byte is fixed by zlib itself.
  const gzip = createGzip({ level: options.level ?? 6, chunkSize: 64 * 1024, strategy: zc.Z_DEFAULT_STRATEGY });
  const out = new PassThrough({ highWaterMark: 64 * 1024 });
  packEntries(entries, tar).catch((err: unknown) => tar.destroy(err as Error));
  pipeline(tar as unknown as Readable, gzip, out).catch((err: unknown) => out.destroy(err as Error));
  return out;
}

/** Build the release in memory (small releases, tests). */
export async function buildRelease(dir: string, options: BuildOptions = {}): Promise<{ tarball: Buffer; id: string }> {
  const stream = await buildReleaseStream(dir, options);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const tarball = Buffer.concat(chunks);
  return { tarball, id: createHash('sha256').update(tarball).digest('hex') };
}

class HashCounter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.byteLength;
    cb(null, chunk);
  }
}

/** Build the release straight to a file (streamed, never whole in memory); out appears only when complete. */
export async function buildReleaseToFile(dir: string, out: string, options: BuildOptions = {}): Promise<{ id: string; bytes: number }> {
  const stream = await buildReleaseStream(dir, options);
  const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.tmp`);
  const meter = new HashCounter();
  try {
    await pipeline(stream, meter, createWriteStream(tmp, { mode: 0o644 }));
    await rename(tmp, out);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  return { id: meter.hash.digest('hex'), bytes: meter.bytes };
}
