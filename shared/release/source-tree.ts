// Walks a release source directory into the sorted, normalized entry list a reproducible tarball is made of.
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ManifestSchema, MANIFEST_FILE, SIDECAR_FILE, VersionSchema } from '../release-manifest.js';
import { formatZodIssues } from '../validation.js';
import { releaseBuildError } from './errors.js';

export type SourceEntry =
  | { kind: 'directory'; path: string }
  | { kind: 'file'; path: string; absPath: string; size: number; mode: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'manifest'; path: string; content: Buffer };

/** Tar entry names are compared as bytes so the order does not depend on the locale. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** A symlink target stays inside the tree when, resolved from the link's directory, it never climbs above the root. */
export function symlinkStaysInside(linkPath: string, target: string): boolean {
  if (target.length === 0 || target.startsWith('/') || target.includes('\0') || target.includes('\\')) return false;
  let depth = linkPath.split('/').length - 1;
  let seenName = false;
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      // `..` after a name would be resolved through that name on disk (maybe a symlink): refuse.
      if (seenName || depth === 0) return false;
      depth -= 1;
    } else {
      seenName = true;
    }
  }
  return true;
}

async function readManifest(dir: string, version: string | undefined): Promise<Buffer> {
  let raw: string;
  try {
    raw = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (err) {
    throw releaseBuildError('SWARM_ERR_RELEASE_BUILD_MANIFEST', `${join(dir, MANIFEST_FILE)} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); a release needs a manifest at its root`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw releaseBuildError('SWARM_ERR_RELEASE_BUILD_MANIFEST', `${join(dir, MANIFEST_FILE)} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (version !== undefined) {
    const v = VersionSchema.safeParse(version);
    if (!v.success) throw releaseBuildError('SWARM_ERR_RELEASE_BUILD_MANIFEST', `version ${JSON.stringify(version)} ${formatZodIssues(v.error)}`);
    if (json === null || typeof json !== 'object' || Array.isArray(json)) json = {};
    json = { ...(json as Record<string, unknown>), version };
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) throw releaseBuildError('SWARM_ERR_RELEASE_BUILD_MANIFEST', `${join(dir, MANIFEST_FILE)} is invalid: ${formatZodIssues(parsed.error)}`);
  // Rewrite only when the version changes, so a manifest built as-is keeps its exact bytes.
  return version === undefined ? Buffer.from(raw) : Buffer.from(`${JSON.stringify(json, null, 2)}\n`);
}

/**
 * Every entry of the release, sorted by name, with normalized modes. The sidecar of an installed
 * release is left out (the installer writes its own). Throws SWARM_ERR_RELEASE_BUILD_* on anything unshippable.
 */
export async function collectSourceEntries(dir: string, options: { version?: string } = {}): Promise<SourceEntry[]> {
  const manifest = await readManifest(dir, options.version);
  const out: SourceEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(rel === '' ? dir : join(dir, rel))).sort(compareBytes);
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      if (path === SIDECAR_FILE) continue;
      if (path === MANIFEST_FILE) {
        out.push({ kind: 'manifest', path, content: manifest });
        continue;
      }
      const abs = join(dir, path);
      const st = await lstat(abs);
      if (st.isDirectory()) {
        out.push({ kind: 'directory', path });
        await walk(path);
      } else if (st.isFile()) {
        out.push({ kind: 'file', path, absPath: abs, size: st.size, mode: st.mode & 0o111 ? 0o755 : 0o644 });
      } else if (st.isSymbolicLink()) {
        const target = await readlink(abs);
        if (!symlinkStaysInside(path, target)) {
          throw releaseBuildError('SWARM_ERR_RELEASE_BUILD_SOURCE', `symlink ${path} -> ${target} leaves the release directory (or climbs through a name); make it relative and inside`);
        }
        out.push({ kind: 'symlink', path, target });
      } else {
        throw releaseBuildError('SWARM_ERR_RELEASE_BUILD_SOURCE', `${path} is not a regular file, directory or symlink; a release cannot carry it`);
      }
    }
  };
  await walk('');
  // Sorting whole paths as bytes keeps a directory before its contents (a prefix sorts first).
  out.sort((a, b) => compareBytes(a.path, b.path));
  return out;
}
