// The one rule for names and symlink targets inside a release: the builder refuses exactly what the installer would.
import { LIMITS } from '../limits.js';

/** Longest entry name or symlink target, in bytes, an updater accepts by default (its limits.maxPathBytes). */
export const RELEASE_MAX_PATH_BYTES = LIMITS['release.max-path-bytes'].value;

/** Why a name cannot be a release entry. */
export type NameFault = 'too-long' | 'empty' | 'nul' | 'backslash' | 'control' | 'absolute' | 'traversal';

/** Why a symlink target cannot stay inside the release. */
export type TargetFault = 'too-long' | 'empty' | 'bad-char' | 'absolute' | 'after-name' | 'above-root';

// C0 controls and DEL: a terminal or a log line would act on them; tar tools disagree about them.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Judge an entry name (after PAX and GNU long names). Returns its components, empty for the release root
 * itself (`.`, `./`), or the first fault, in the order the installer has always reported them.
 */
export function checkReleasePath(name: string, maxBytes: number = RELEASE_MAX_PATH_BYTES): { ok: true; parts: string[] } | { ok: false; fault: NameFault } {
  if (Buffer.byteLength(name) > maxBytes) return { ok: false, fault: 'too-long' };
  if (name.length === 0) return { ok: false, fault: 'empty' };
  if (name.includes('\0')) return { ok: false, fault: 'nul' };
  if (name.includes('\\')) return { ok: false, fault: 'backslash' };
  if (CONTROL.test(name)) return { ok: false, fault: 'control' };
  if (name.startsWith('/')) return { ok: false, fault: 'absolute' };
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return { ok: false, fault: 'traversal' };
    parts.push(part);
  }
  return { ok: true, parts };
}

/**
 * Judge a symlink target, resolved from the directory of the link whose components are `linkParts`:
 * it must stay inside the release, and `..` may only lead (the kernel resolves `x/..` through x, which may
 * itself be a symlink, so only leading `..` are predictable).
 */
export function checkLinkTarget(linkParts: readonly string[], target: string, maxBytes: number = RELEASE_MAX_PATH_BYTES): { ok: true } | { ok: false; fault: TargetFault } {
  if (Buffer.byteLength(target) > maxBytes) return { ok: false, fault: 'too-long' };
  if (target.length === 0) return { ok: false, fault: 'empty' };
  if (target.includes('\0') || target.includes('\\') || CONTROL.test(target)) return { ok: false, fault: 'bad-char' };
  if (target.startsWith('/')) return { ok: false, fault: 'absolute' };
  let depth = linkParts.length - 1;
  let seenName = false;
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (seenName) return { ok: false, fault: 'after-name' };
      if (depth === 0) return { ok: false, fault: 'above-root' };
      depth -= 1;
    } else {
      seenName = true;
    }
  }
  return { ok: true };
}
