// The tar-entry safety check: a pure decision (entry header + what was extracted so far -> write it, or refuse with a code).
// Shared: the updater's installer applies it while extracting, the controller while inspecting an upload.
import { SIDECAR_FILE } from '../release-manifest.js';
// Names and link targets are judged by the release path rule the builder shares.
import { checkLinkTarget, checkReleasePath, type NameFault, type TargetFault } from './path-rule.js';

/** The install limits the check reads (the updater's TarLimits has them all). */
export interface TarLimits {
  maxUnpackedBytes: number;
  maxEntries: number;
  maxPathBytes: number;
}

/** A refusal's code; each is in the updater's install catalogue (updater/install/errors.ts) and docs/errors.md. */
export type TarRefusalCode =
  | 'SWARM_ERR_TAR_ABSOLUTE_PATH' | 'SWARM_ERR_TAR_BAD_NAME' | 'SWARM_ERR_TAR_DEVICE' | 'SWARM_ERR_TAR_DUPLICATE_ENTRY'
  | 'SWARM_ERR_TAR_FIFO' | 'SWARM_ERR_TAR_HARD_LINK' | 'SWARM_ERR_TAR_LINK_ESCAPE' | 'SWARM_ERR_TAR_PATH_CONFLICT'
  | 'SWARM_ERR_TAR_PATH_TOO_LONG' | 'SWARM_ERR_TAR_PATH_TRAVERSAL' | 'SWARM_ERR_TAR_RESERVED_NAME' | 'SWARM_ERR_TAR_SPECIAL_MODE'
  | 'SWARM_ERR_TAR_THROUGH_SYMLINK' | 'SWARM_ERR_TAR_TOO_LARGE' | 'SWARM_ERR_TAR_TOO_MANY_ENTRIES' | 'SWARM_ERR_TAR_UNSUPPORTED_TYPE';

/** The fields of a tar-stream header the check reads (after tar-stream applied PAX and GNU long names). */
export interface TarEntryHeader {
  name: string;
  type?: string | null | undefined;
  mode?: number | undefined;
  size?: number | undefined;
  linkname?: string | null | undefined;
}

export type ExtractedKind = 'file' | 'directory' | 'symlink' | 'implicit-directory';

/** What has been extracted so far; the check reads it, recordEntry updates it. */
export interface ExtractionState {
  readonly entries: Map<string, { kind: ExtractedKind; mode: number; target?: string }>;
  entryCount: number;
  unpackedBytes: number;
}

export function createExtractionState(): ExtractionState {
  return { entries: new Map(), entryCount: 0, unpackedBytes: 0 };
}

export type EntryDecision =
  | { ok: true; action: 'skip' }
  | {
      ok: true;
      action: 'file' | 'directory' | 'symlink';
      /** normalized relative path */
      path: string;
      /** parent directories to create first, outermost first */
      parents: string[];
      mode: number;
      size: number;
      target?: string;
      /** a directory entry for a directory already created implicitly */
      existing?: boolean;
    }
  | { ok: false; code: TarRefusalCode; message: string };

export type EntryAccepted = Extract<EntryDecision, { ok: true; action: 'file' | 'directory' | 'symlink' }>;

const SPECIAL_BITS = 0o7000;

function refuse(code: TarRefusalCode, message: string): EntryDecision {
  return { ok: false, code, message };
}

function show(name: string): string {
  return JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}...` : name);
}

/** The shared path rule's verdict on a name, as this installer's refusal. */
function refuseName(fault: NameFault, name: string, limits: TarLimits): EntryDecision {
  switch (fault) {
    case 'too-long':
      return refuse('SWARM_ERR_TAR_PATH_TOO_LONG', `tar entry ${show(name)} is ${Buffer.byteLength(name)} bytes long; the limit is ${limits.maxPathBytes} (limits.maxPathBytes)`);
    case 'empty':
      return refuse('SWARM_ERR_TAR_BAD_NAME', 'a tar entry has an empty name');
    case 'nul':
      return refuse('SWARM_ERR_TAR_BAD_NAME', `tar entry ${show(name)} contains a NUL byte`);
    case 'backslash':
      return refuse('SWARM_ERR_TAR_BAD_NAME', `tar entry ${show(name)} contains a backslash; use "/" separators`);
    case 'control':
      return refuse('SWARM_ERR_TAR_BAD_NAME', `tar entry ${show(name)} contains a control character`);
    case 'absolute':
      return refuse('SWARM_ERR_TAR_ABSOLUTE_PATH', `tar entry ${show(name)} is an absolute path; entries must be relative to the release root`);
    case 'traversal':
      return refuse('SWARM_ERR_TAR_PATH_TRAVERSAL', `tar entry ${show(name)} contains "..": it would be written outside the release`);
  }
}

/** The shared path rule's verdict on a symlink target, as this installer's refusal. */
function refuseTarget(fault: TargetFault, name: string, target: string, limits: TarLimits): EntryDecision {
  switch (fault) {
    case 'too-long':
      return refuse('SWARM_ERR_TAR_PATH_TOO_LONG', `symlink ${show(name)} has a target longer than ${limits.maxPathBytes} bytes (limits.maxPathBytes)`);
    case 'empty':
      return refuse('SWARM_ERR_TAR_LINK_ESCAPE', `symlink ${show(name)} has an empty target`);
    case 'bad-char':
      return refuse('SWARM_ERR_TAR_LINK_ESCAPE', `symlink ${show(name)} has a target with a NUL byte, backslash or control character`);
    case 'absolute':
      return refuse('SWARM_ERR_TAR_LINK_ESCAPE', `symlink ${show(name)} -> ${show(target)} is absolute: it would point outside the release`);
    case 'after-name':
      return refuse('SWARM_ERR_TAR_LINK_ESCAPE', `symlink ${show(name)} -> ${show(target)} uses ".." after a name; write the target without it`);
    case 'above-root':
      return refuse('SWARM_ERR_TAR_LINK_ESCAPE', `symlink ${show(name)} -> ${show(target)} climbs above the release root`);
  }
}

/** Decide what to do with one tar entry. Pure: reads the header, the state and the limits only. */
export function checkTarEntry(header: TarEntryHeader, state: ExtractionState, limits: TarLimits): EntryDecision {
  const name = header.name;
  if (state.entryCount + 1 > limits.maxEntries) {
    return refuse('SWARM_ERR_TAR_TOO_MANY_ENTRIES', `the release has more than ${limits.maxEntries} entries (limits.maxEntries)`);
  }
  const verdict = checkReleasePath(name, limits.maxPathBytes);
  if (!verdict.ok) return refuseName(verdict.fault, name, limits);
  const parts = verdict.parts;
  const type = header.type ?? null;
  const mode = header.mode ?? 0;
  switch (type) {
    case 'file':
    case 'directory':
    case 'symlink':
      break;
    case 'link':
      return refuse('SWARM_ERR_TAR_HARD_LINK', `tar entry ${show(name)} is a hard link; releases may only carry files, directories and symlinks`);
    case 'character-device':
    case 'block-device':
      return refuse('SWARM_ERR_TAR_DEVICE', `tar entry ${show(name)} is a ${type}; releases may not carry device nodes`);
    case 'fifo':
      return refuse('SWARM_ERR_TAR_FIFO', `tar entry ${show(name)} is a FIFO; releases may not carry FIFOs`);
    default:
      return refuse('SWARM_ERR_TAR_UNSUPPORTED_TYPE', `tar entry ${show(name)} has type ${type ?? 'unknown'}, which the installer does not extract`);
  }
  if ((mode & SPECIAL_BITS) !== 0) {
    return refuse('SWARM_ERR_TAR_SPECIAL_MODE', `tar entry ${show(name)} has mode ${(mode & 0o7777).toString(8)} with setuid/setgid/sticky bits; remove them`);
  }
  if (parts.length === 0) {
    // `./` itself: the release root, which the installer creates.
    if (type === 'directory') return { ok: true, action: 'skip' };
    return refuse('SWARM_ERR_TAR_BAD_NAME', `tar entry ${show(name)} of type ${type} names the release root`);
  }
  const path = parts.join('/');
  if (path === SIDECAR_FILE) return refuse('SWARM_ERR_TAR_RESERVED_NAME', `the release carries ${SIDECAR_FILE}, which only the updater writes; remove it from the release`);
  const size = type === 'file' ? (header.size ?? 0) : 0;
  if (!(size >= 0) || !Number.isSafeInteger(size)) return refuse('SWARM_ERR_TAR_BAD_NAME', `tar entry ${show(name)} has an invalid size`);
  if (state.unpackedBytes + size > limits.maxUnpackedBytes) {
    return refuse('SWARM_ERR_TAR_TOO_LARGE', `the release unpacks to more than ${limits.maxUnpackedBytes} bytes (limits.maxUnpackedBytes)`);
  }
  const parents: string[] = [];
  for (let i = 1; i < parts.length; i += 1) {
    const prefix = parts.slice(0, i).join('/');
    const seen = state.entries.get(prefix);
    if (!seen) parents.push(prefix);
    else if (seen.kind === 'symlink') return refuse('SWARM_ERR_TAR_THROUGH_SYMLINK', `tar entry ${show(name)} would be written through the symlink ${show(prefix)}`);
    else if (seen.kind === 'file') return refuse('SWARM_ERR_TAR_PATH_CONFLICT', `tar entry ${show(name)} needs ${show(prefix)} to be a directory, but an earlier entry made it a file`);
  }
  const existing = state.entries.get(path);
  if (existing) {
    if (existing.kind === 'implicit-directory' && type === 'directory') {
      return { ok: true, action: 'directory', path, parents, mode: 0o755, size: 0, existing: true };
    }
    if (existing.kind === 'implicit-directory') {
      return refuse('SWARM_ERR_TAR_PATH_CONFLICT', `tar entry ${show(name)} (${type}) replaces a directory created by earlier entries`);
    }
    return refuse('SWARM_ERR_TAR_DUPLICATE_ENTRY', `tar entry ${show(name)} appears twice in the release`);
  }
  if (type === 'symlink') {
    const target = header.linkname ?? '';
    const link = checkLinkTarget(parts, target, limits.maxPathBytes);
    if (!link.ok) return refuseTarget(link.fault, name, target, limits);
    return { ok: true, action: 'symlink', path, parents, mode: 0o777, size: 0, target };
  }
  if (type === 'directory') return { ok: true, action: 'directory', path, parents, mode: 0o755, size: 0 };
  // Files keep only their permission bits, and never more than 0755.
  return { ok: true, action: 'file', path, parents, mode: mode & 0o755, size };
}

/** Record an accepted entry (after it was written) so later entries are checked against it. */
export function recordEntry(state: ExtractionState, decision: EntryAccepted): void {
  for (const p of decision.parents) state.entries.set(p, { kind: 'implicit-directory', mode: 0o755 });
  state.entryCount += 1;
  state.unpackedBytes += decision.size;
  const kind: ExtractedKind = decision.action;
  state.entries.set(decision.path, decision.target === undefined ? { kind, mode: decision.mode } : { kind, mode: decision.mode, target: decision.target });
}

/** Count a skipped entry (the root `./`) against the entry limit. */
export function recordSkipped(state: ExtractionState): void {
  state.entryCount += 1;
}

/**
 * Resolve a path inside the extracted release through its symlinks (as recorded in the state).
 * Returns the final entry and its path, or undefined when it is missing, loops, or leaves the release.
 */
export function resolveInRelease(state: ExtractionState, path: string): { path: string; kind: ExtractedKind; mode: number } | undefined {
  let pending = path.split('/').filter((p) => p !== '' && p !== '.');
  let resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      if (resolved.length === 0) return undefined;
      resolved.pop();
      continue;
    }
    const candidate = [...resolved, part].join('/');
    const entry = state.entries.get(candidate);
    if (!entry) return undefined;
    if (entry.kind === 'symlink') {
      hops += 1;
      if (hops > 40) return undefined;
      pending = [...(entry.target ?? '').split('/').filter((p) => p !== '' && p !== '.'), ...pending];
      continue;
    }
    if (pending.length > 0 && entry.kind !== 'directory' && entry.kind !== 'implicit-directory') return undefined;
    resolved = [...resolved, part];
  }
  const finalPath = resolved.join('/');
  const entry = state.entries.get(finalPath);
  return entry ? { path: finalPath, kind: entry.kind, mode: entry.mode } : undefined;
}
