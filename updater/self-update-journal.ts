// The self-update journal (state/self-update.json): `pending` until the new updater confirms; read by the supervisor.
import { readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { fsyncDir, writeFileAtomic } from '../shared/files.js';

export const SelfUpdateJournalSchema = z.object({
  op: z.string().min(1),
  phase: z.enum(['pending', 'confirmed']),
  /** Updater release dir names under <install-dir>/updater/releases; from null = the packaged (base) updater. */
  from: z.string().nullable(),
  to: z.string(),
  prevBefore: z.string().nullable(),
  /** How many times the supervisor started the new updater on trial (one chance, then the old one returns). */
  attempts: z.number().int().nonnegative(),
  at: z.string(),
});
export type SelfUpdateJournal = z.output<typeof SelfUpdateJournalSchema>;

export class SelfUpdateJournalFile {
  constructor(readonly path: string) {}

  async read(): Promise<SelfUpdateJournal | null> {
    try {
      const parsed = SelfUpdateJournalSchema.safeParse(JSON.parse(await readFile(this.path, 'utf8')));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }

  async write(entry: Omit<SelfUpdateJournal, 'at'>): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify({ ...entry, at: new Date().toISOString() })}\n`, 0o600);
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
