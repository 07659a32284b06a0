// The self-update journal (state/self-update.json): `pending` until the new updater confirms; read by the supervisor.
import { readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { fsyncDir, writeFileAtomic } from '../shared/files.js';

const Fields = {
  op: z.string().min(1),
  /** Updater release dir names under <install-dir>/updater/releases; null = the packaged (base) updater. */
  previous: z.string().nullable(),
  /** The updater release on trial (or confirmed). */
  next: z.string(),
  prevBefore: z.string().nullable(),
  /** How many times the supervisor started the new updater on trial (one chance, then the old one returns). */
  attempts: z.number().int().nonnegative(),
  at: z.string(),
};

/** The new updater has not confirmed yet: the supervisor gives it one trial, then restores `previous`. */
export const PendingSelfUpdateSchema = z.object({ ...Fields, phase: z.literal('pending') });
/** The new updater serves; whoever finds this finishes the record and clears the file. */
export const ConfirmedSelfUpdateSchema = z.object({ ...Fields, phase: z.literal('confirmed') });
export const SelfUpdateJournalSchema = z.discriminatedUnion('phase', [PendingSelfUpdateSchema, ConfirmedSelfUpdateSchema]);
export type SelfUpdateJournal = z.output<typeof SelfUpdateJournalSchema>;

/**
 * The shape written before the fields were renamed. The supervisor is the packaged updater, which a self-update
 * never replaces: an older supervisor reads what a newer worker writes, so every write carries these fields too.
 */
const LegacySelfUpdateSchema = z.object({
  op: z.string().min(1),
  phase: z.enum(['pending', 'confirmed']),
  from: z.string().nullable(),
  to: z.string(),
  prevBefore: z.string().nullable(),
  attempts: z.number().int().nonnegative(),
  at: z.string(),
});

/** Today's shape, or the legacy one converted; undefined when it is neither. */
export function parseSelfUpdateJournal(raw: unknown): SelfUpdateJournal | undefined {
  const current = SelfUpdateJournalSchema.safeParse(raw);
  if (current.success) return current.data;
  const legacy = LegacySelfUpdateSchema.safeParse(raw);
  if (!legacy.success) return undefined;
  const { from, to, ...rest } = legacy.data;
  return { ...rest, previous: from, next: to };
}

export class SelfUpdateJournalFile {
  constructor(readonly path: string) {}

  async read(): Promise<SelfUpdateJournal | null> {
    try {
      return parseSelfUpdateJournal(JSON.parse(await readFile(this.path, 'utf8'))) ?? null;
    } catch {
      return null;
    }
  }

  async write(entry: Omit<SelfUpdateJournal, 'at'>): Promise<void> {
    const full = { ...entry, at: new Date().toISOString() };
    await writeFileAtomic(this.path, `${JSON.stringify({ ...full, from: full.previous, to: full.next })}\n`, 0o600);
  }

  async clear(): Promise<void> {
    try {
      await unlink(this.path);
      await fsyncDir(dirname(this.path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
