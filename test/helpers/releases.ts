// Release fixtures for tests and benches: release source trees, raw tar entries, hostile tarballs.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { extract, pack, type Header } from 'tar-stream';

export interface ReleaseTreeOptions {
  name?: string;
  version?: string;
  /** extra manifest fields (override the defaults) */
  manifest?: Record<string, unknown>;
  /** the entrypoint script's content (default: a shell script that exits 0) */
  entrypointScript?: string;
  /** number of data files under data/ (default 0) */
  files?: number;
  /** bytes per data file (default 10 KiB) */
  fileBytes?: number;
  /** 'random' (incompressible), 'mixed' (about 2:1, like binaries) */
  content?: 'random' | 'mixed';
  /** extra files: relative path -> content */
  extra?: Record<string, string | Buffer>;
}

/** Block of content for data files: half random, half repeated text, so gzip gets about 2:1. */
function mixedBlock(bytes: number): Buffer {
  const half = Math.floor(bytes / 2);
  const text = Buffer.alloc(bytes - half, 'swarm sensor release payload line\n');
  return Buffer.concat([randomBytes(half), text]);
}

/** Write a release source tree (manifest, executable bin/swarm-agent, data files) into dir. */
export async function writeReleaseTree(dir: string, options: ReleaseTreeOptions = {}): Promise<void> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  const manifest = {
    name: options.name ?? 'test-agent',
    version: options.version ?? '1.0.0',
    entrypoint: ['bin/swarm-agent', 'run'],
    services: [],
    created: '2026-01-01T00:00:00Z',
    ...options.manifest,
  };
  await writeFile(join(dir, 'swarm-release.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(join(dir, 'bin', 'swarm-agent'), options.entrypointScript ?? '#!/bin/sh\nexit 0\n');
  await chmod(join(dir, 'bin', 'swarm-agent'), 0o755);
  const files = options.files ?? 0;
  const fileBytes = options.fileBytes ?? 10 * 1024;
  const perDir = 500;
  for (let i = 0; i < files; i += 1) {
    const sub = join(dir, 'data', `d${String(Math.floor(i / perDir)).padStart(3, '0')}`);
    if (i % perDir === 0) await mkdir(sub, { recursive: true });
    const body = options.content === 'random' ? randomBytes(fileBytes) : mixedBlock(fileBytes);
    await writeFile(join(sub, `f${String(i).padStart(6, '0')}.bin`), body);
  }
  for (const [rel, content] of Object.entries(options.extra ?? {})) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), content);
  }
}

/** The manifest JSON a minimal valid release carries. */
export function manifestJson(overrides: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ name: 'test-agent', version: '1.0.0', entrypoint: ['bin/swarm-agent', 'run'], ...overrides })}\n`;
}

export interface TarEntrySpec {
  name: string;
  type?: 'file' | 'link' | 'symlink' | 'directory' | 'block-device' | 'character-device' | 'fifo' | 'contiguous-file';
  mode?: number;
  linkname?: string;
  content?: string | Buffer;
  /** PAX records (path, linkpath, size...) emitted before the entry by tar-stream */
  pax?: Record<string, string>;
  devmajor?: number;
  devminor?: number;
}

/** One entry as tar blocks (header, optional PAX header, padded content), encoded by tar-stream. */
export async function tarEntry(spec: TarEntrySpec): Promise<Buffer> {
  const p = pack();
  const content = spec.content === undefined ? undefined : Buffer.from(spec.content);
  const header = {
    name: spec.name,
    type: spec.type ?? 'file',
    mode: spec.mode ?? (spec.type === 'directory' ? 0o755 : 0o644),
    mtime: new Date(0),
    ...(spec.linkname !== undefined ? { linkname: spec.linkname } : {}),
    ...(spec.pax ? { pax: spec.pax } : {}),
    ...(spec.devmajor !== undefined ? { devmajor: spec.devmajor, devminor: spec.devminor ?? 0 } : {}),
  };
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of p) chunks.push(c as Buffer);
  })();
  await new Promise<void>((resolve, reject) => {
    const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (content) p.entry(header, content, cb);
    else p.entry(header, cb);
  });
  p.finalize();
  await done;
  const all = Buffer.concat(chunks);
  return all.subarray(0, all.length - 1024); // drop the end-of-archive blocks
}

/** A raw ustar/GNU header block, for what tar-stream will not write (GNU long names, unknown typeflags, bad checksums). */
export function rawHeader(fields: { name: string; typeflag: string; size?: number; mode?: number; linkname?: string; gnu?: boolean; badChecksum?: boolean }): Buffer {
  const buf = Buffer.alloc(512);
  buf.write(fields.name.slice(0, 100), 0, 'utf8');
  buf.write(`${(fields.mode ?? 0o644).toString(8).padStart(6, '0')} \0`, 100);
  buf.write('000000 \0', 108);
  buf.write('000000 \0', 116);
  buf.write(`${(fields.size ?? 0).toString(8).padStart(11, '0')} `, 124);
  buf.write('00000000000 ', 136);
  buf.write(fields.typeflag, 156);
  if (fields.linkname) buf.write(fields.linkname.slice(0, 100), 157);
  if (fields.gnu) buf.write('ustar  \0', 257, 'binary');
  else buf.write('ustar\x0000', 257, 'binary');
  buf.fill(' ', 148, 156);
  let sum = 0;
  for (const b of buf) sum += b;
  if (fields.badChecksum) sum += 1;
  buf.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return buf;
}

/** Content padded to whole 512-byte blocks. */
export function padded(content: string | Buffer): Buffer {
  const b = Buffer.from(content);
  const pad = (512 - (b.length % 512)) % 512;
  return Buffer.concat([b, Buffer.alloc(pad)]);
}

/** A GNU long-name record ('L') or long-link record ('K') followed by the real header. */
export function gnuLong(kind: 'L' | 'K', value: string): Buffer {
  const data = Buffer.from(`${value}\0`);
  return Buffer.concat([rawHeader({ name: '././@LongLink', typeflag: kind, size: data.length, gnu: true }), padded(data)]);
}

/** Concatenate tar blocks, add the end-of-archive marker, gzip. */
export function gzipTar(parts: Buffer[], options: { end?: boolean } = {}): Buffer {
  return gzipSync(Buffer.concat([...parts, options.end === false ? Buffer.alloc(0) : Buffer.alloc(1024)]));
}

/** The entries of a minimal valid release (manifest + executable entrypoint), to put around a hostile entry. */
export async function validReleaseEntries(overrides: Record<string, unknown> = {}): Promise<Buffer[]> {
  return [
    await tarEntry({ name: 'swarm-release.json', content: manifestJson(overrides) }),
    await tarEntry({ name: 'bin/', type: 'directory' }),
    await tarEntry({ name: 'bin/swarm-agent', mode: 0o755, content: '#!/bin/sh\nexit 0\n' }),
  ];
}

/** Feed a buffer as a body in chunks, counting how many bytes the consumer pulled. */
export function chunkedBody(buf: Buffer, chunk = 64 * 1024): { body: AsyncIterable<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  return {
    body: (async function* () {
      for (let off = 0; off < buf.length; off += chunk) {
        const part = buf.subarray(off, Math.min(buf.length, off + chunk));
        pulled += part.length;
        yield part;
      }
    })(),
    pulled: () => pulled,
  };
}

/** A gzip'd tar holding one file of `zeroBytes` zeros: a decompression bomb, made without holding it in memory. */
export async function gzipBombTarball(zeroBytes: number, prefix: Buffer[] = []): Promise<Buffer> {
  const { createGzip } = await import('node:zlib');
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise((resolve, reject) => {
    gz.on('end', resolve);
    gz.on('error', reject);
  });
  const write = async (b: Buffer): Promise<void> => {
    if (!gz.write(b)) await new Promise((r) => gz.once('drain', r));
  };
  for (const p of prefix) await write(p);
  const header = await tarEntry({ name: 'zeros.bin', content: Buffer.alloc(1) });
  // Same header with the real size: re-encode by hand (tar-stream would need the content).
  const h = Buffer.from(header.subarray(0, 512));
  h.write(`${zeroBytes.toString(8).padStart(11, '0')} `, 124);
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  await write(h);
  const zeros = Buffer.alloc(1024 * 1024);
  for (let left = zeroBytes; left > 0; left -= zeros.length) await write(left >= zeros.length ? zeros : zeros.subarray(0, left));
  await write(Buffer.alloc(1024 + ((512 - (zeroBytes % 512)) % 512)));
  gz.end();
  await ended;
  return Buffer.concat(out);
}

/** Every entry header of a gzip'd tarball, in order (the contents are read and dropped). */
export async function tarHeaders(tarball: Buffer): Promise<Header[]> {
  const ex = extract();
  const out: Header[] = [];
  ex.on('entry', (h, stream, next) => {
    out.push(h);
    stream.on('end', () => next());
    stream.resume();
  });
  const done = new Promise((resolve, reject) => {
    ex.on('finish', () => resolve(undefined));
    ex.on('error', reject);
  });
  ex.end(gunzipSync(tarball));
  await done;
  return out;
}
