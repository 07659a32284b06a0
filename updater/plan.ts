// Pure decisions of rollback: which releases to try, in which order, and where prev points afterwards.

export interface RollbackPlan {
  /** Try these in order until one is healthy. */
  candidates: string[];
  /** The release to mark bad once a candidate is healthy (null: nothing failed, e.g. an interrupted switch). */
  failed: string | null;
}

/**
 * Candidates: the preferred ones first (the release that was active, then prev), then releases that were healthy
 * here (newest first); never the failed one, never twice, only usable ones (installed, not marked bad).
 * `returnTo` (the release an asked-for rollback leaves) goes last: if nothing older is healthy we go back to it.
 */
export function planRollback(input: {
  failed: string | null;
  preferred: ReadonlyArray<string | null>;
  history: readonly string[];
  usable: ReadonlySet<string>;
  returnTo?: string | null;
}): RollbackPlan {
  const seen = new Set<string>();
  const candidates: string[] = [];
  for (const c of [...input.preferred, ...input.history]) {
    if (!c || c === input.failed || seen.has(c) || !input.usable.has(c)) continue;
    seen.add(c);
    candidates.push(c);
  }
  if (input.returnTo && !seen.has(input.returnTo)) candidates.push(input.returnTo);
  return { candidates, failed: input.failed };
}

/** After landing on `target`: prev is the next candidate that is neither the target nor the failed release. */
export function choosePrevAfter(target: string, candidates: readonly string[], failed: string | null): string | null {
  return candidates.find((c) => c !== target && c !== failed) ?? null;
}
