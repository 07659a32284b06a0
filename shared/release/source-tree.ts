// Walks a release source directory into the sorted, normalized entry list a reproducible tarball is made of.
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ManifestSchema, MANIFEST_FILE, SIDECAR_FILE, VersionSchema } from '../release-manifest.js';
import { formatZodIssues } from '../validation.js';
import { releaseBuildError } from './errors.js';
import { checkLinkTarget, checkReleasePath, RELEASE_MAX_PATH_BYTES, type NameFault, type TargetFault } from './path-rule.js';

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
  return checkLinkTarget(linkPath.split('/'), target).ok;
}

function show(path: string): string {
  return JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}...` : path);
}

/** Why an updater would refuse this name, said to the person building (the path rule is the installer's own). */
function describeNameFault(fault: NameFault, path: string): string {
  switch (fault) {
    case 'too-long':
      return `${show(path)} is ${Buffer.byteLength(path)} bytes long; updaters refuse release paths longer than ${RELEASE_MAX_PATH_BYTES} bytes (limits.maxPathBytes): shorten it`;
    case 'control':
    case 'nul':
      return `${show(path)} has a control character in its name, which updaters refuse: rename it`;
    case 'backslash':
      return `${show(path)} has a backslash in its name, which updaters refuse: rename it`;
    case 'empty':
    case 'absolute':
    case 'traversal':
      return `${show(path)} is not a name inside the release`;
  }
}

/** Why an updater would refuse this symlink. */
function describeTargetFault(fault: TargetFault, path: string, target: string): string {
  switch (fault) {
    case 'too-long':
      return `symlink ${show(path)} has a target longer than ${RELEASE_MAX_PATH_BYTES} bytes, which updaters refuse (limits.maxPathBytes): shorten it`;
    case 'bad-char':
      return `symlink ${show(path)} has a target with a control character or backslash, which updaters refuse: change it`;
    case 'empty':
    case 'absolute':
    case 'after-name':
    case 'above-root':
      return `symlink ${path} -> ${target} leaves the release directory (or climbs through a name); make it relative and inside`;
  }
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
      // The installer's own rule: a release every updater would refuse is never built.
      const verdict = checkReleasePath(path);
      if (!verdict.ok) throw releaseBuildError('SWARM_ERR_RELEASE_BUILD_SOURCE', describeNameFault(verdict.fault, path));
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
        const link = checkLinkTarget(verdict.parts, target);
        if (!link.ok) throw releaseBuildError('SWARM_ERR_RELEASE_BUILD_SOURCE', describeTargetFault(link.fault, path, target));
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
