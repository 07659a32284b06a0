// The update journal (state/journal.json): written durably BEFORE each switch so a restart can finish the operation.
import { readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { fsyncDir, writeFileAtomic } from '../shared/files.js';

/** Release dir names (`<version>-<12 hex>` under releases/). */
const Dir = z.string().min(1);

/** Links are about to move (or moved) from `previous` to `next`; a restart finishes or undoes the switch. */
export const SwitchingJournalSchema = z.object({
  op: z.string().min(1),
  phase: z.literal('switching'),
  /** The release active pointed at before; null on a first install. */
  previous: Dir.nullable(),
  /** The release being switched to. */
  next: Dir,
  /** What prev pointed at before the operation (put back when the switch does not go through). */
  prevBefore: Dir.nullable(),
  at: z.string(),
});

/** Active goes back to `target` (then each fallback) until an agent is healthy. */
export const RollingBackJournalSchema = z.object({
  op: z.string().min(1),
  phase: z.literal('rolling-back'),
  /** `failed`: the release left failed its probe or watch (it is marked bad); `requested`: someone asked (it is not). */
  cause: z.enum(['failed', 'requested']),
  /** The release active was on when the rollback began. */
  leaving: Dir,
  /** The candidate active points at (or is about to). */
  target: Dir,
  /** The candidates to try, in order, if `target` is not healthy either. */
  fallbacks: z.array(Dir),
  /** Where prev points while active is on `target`. */
  prevAfter: Dir.nullable(),
  prevBefore: Dir.nullable(),
  /** Why active leaves `leaving` (the bad mark's reason); null when not known (a journal from before this format). */
  reason: z.string().nullable(),
  at: z.string(),
});

export type SwitchingJournal = z.output<typeof SwitchingJournalSchema>;
export type RollingBackJournal = z.output<typeof RollingBackJournalSchema>;
export type Journal = SwitchingJournal | RollingBackJournal;
/** What the engine hands to write(): the time is stamped there. */
export type JournalEntry = Omit<SwitchingJournal, 'at'> | Omit<RollingBackJournal, 'at'>;

/**
 * The shape updaters wrote before the phases had their own fields (`from`/`to` changed meaning with the phase).
 * A host upgraded in the middle of an operation finds one of these; every write still carries these fields too,
 * so an older updater brought back by a failed self-update can finish what this one started.
 */
const LegacyJournalSchema = z.object({
  op: z.string().min(1),
  kind: z.enum(['update', 'rollback']),
  phase: z.enum(['switching', 'rolling-back']),
  from: z.string().nullable(),
  to: z.string(),
  prevBefore: z.string().nullable(),
  prevAfter: z.string().nullable().default(null),
  failed: z.string().nullable().default(null),
  fallbacks: z.array(z.string()).default([]),
  at: z.string(),
});
type LegacyJournal = z.output<typeof LegacyJournalSchema>;

const CurrentJournalSchema = z.discriminatedUnion('phase', [SwitchingJournalSchema, RollingBackJournalSchema]);

/** A journal in the old shape, in today's terms (a legacy `rollback` kind was an asked-for rollback). */
export function fromLegacyJournal(j: LegacyJournal): Journal {
  if (j.phase === 'switching') return { op: j.op, phase: 'switching', previous: j.from, next: j.to, prevBefore: j.prevBefore, at: j.at };
  return {
    op: j.op, phase: 'rolling-back', cause: j.kind === 'rollback' ? 'requested' : 'failed', leaving: j.failed ?? j.from ?? j.to, target: j.to,
    fallbacks: j.fallbacks, prevAfter: j.prevAfter, prevBefore: j.prevBefore, reason: null, at: j.at,
  };
}

/** The fields an older updater reads, mirrored from today's journal. */
export function toLegacyJournal(j: Journal): LegacyJournal {
  if (j.phase === 'switching') {
    return { op: j.op, kind: 'update', phase: 'switching', from: j.previous, to: j.next, prevBefore: j.prevBefore, prevAfter: null, failed: null, fallbacks: [], at: j.at };
  }
  return {
    op: j.op, kind: j.cause === 'requested' ? 'rollback' : 'update', phase: 'rolling-back', from: j.leaving, to: j.target, prevBefore: j.prevBefore,
    prevAfter: j.prevAfter, failed: j.leaving, fallbacks: j.fallbacks, at: j.at,
  };
}

/** Today's shape when the file has its fields, else the legacy shape converted; undefined when it is neither. */
export function parseJournal(raw: unknown): Journal | undefined {
  const current = CurrentJournalSchema.safeParse(raw);
  if (current.success) return current.data;
  const legacy = LegacyJournalSchema.safeParse(raw);
  return legacy.success ? fromLegacyJournal(legacy.data) : undefined;
}

export class JournalFile {
  constructor(private readonly path: string) {}

  /** The interrupted operation, or null; a torn or foreign file is reported, not guessed at. */
  async read(): Promise<Journal | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new Error(`journal ${this.path} is not JSON`);
    }
    const parsed = parseJournal(raw);
    if (!parsed) throw new Error(`journal ${this.path} is not valid: it is neither a switching nor a rolling-back journal`);
    return parsed;
  }

  async write(entry: JournalEntry): Promise<void> {
    const full = CurrentJournalSchema.parse({ ...entry, at: new Date().toISOString() });
    await writeFileAtomic(this.path, `${JSON.stringify({ ...toLegacyJournal(full), ...full })}\n`, 0o600);
  }

  async clear(): Promise<void> {
    try {
      await unlink(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return;
    }
    await fsyncDir(dirname(this.path));
  }
}
