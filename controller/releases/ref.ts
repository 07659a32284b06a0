// RELEASE references (DESIGN.md §7): an id, a unique prefix of one (8 hex or more), or a version; a pure decision.
import type { ReleaseRecord, ReleaseResolution } from '../store/store.js';

/** A prefix long enough to name a release: shorter ones would match by accident as the store grows. */
export const MIN_RELEASE_PREFIX = 8;

const HEX_PREFIX = new RegExp(`^[0-9a-f]{${MIN_RELEASE_PREFIX},64}$`);

/** Whether `ref` can be read as an id prefix (it may also be a version: both readings count). */
export function isReleasePrefix(ref: string): boolean {
  return HEX_PREFIX.test(ref);
}

/**
 * Decide what `ref` names among `candidates` (releases whose id starts with it or whose version equals it; more
 * may be given, they are filtered here). A full id that exists wins outright; otherwise exactly one match, or the
 * reference is unknown or ambiguous (candidates newest first, so the message lists the likely one first).
 */
export function decideReleaseRef(ref: string, candidates: readonly ReleaseRecord[]): ReleaseResolution {
  const exact = candidates.find((r) => r.id === ref);
  if (exact) return { ok: true, release: exact };
  const prefix = isReleasePrefix(ref);
  const byId = new Map<string, ReleaseRecord>();
  for (const r of candidates) if ((prefix && r.id.startsWith(ref)) || r.version === ref) byId.set(r.id, r);
  const matches = [...byId.values()].sort((a, b) => b.uploadedAt - a.uploadedAt || a.id.localeCompare(b.id));
  if (matches.length === 0) return { ok: false, reason: 'unknown' };
  if (matches.length === 1) return { ok: true, release: matches[0]! };
  return { ok: false, reason: 'ambiguous', candidates: matches };
}
