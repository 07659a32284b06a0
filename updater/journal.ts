// The update journal (state/journal.json): written durably BEFORE each switch so a restart can finish the operation.
import { readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { fsyncDir, writeFileAtomic } from '../shared/files.js';

export const JournalSchema = z.object({
  op: z.string().min(1),
  kind: z.enum(['update', 'rollback']),
  /** switching: links are about to move (or moved) from -> to; rolling-back: active goes back to `to`. */
  phase: z.enum(['switching', 'rolling-back']),
  /** Release dir names; from is null on a first install. */
  from: z.string().nullable(),
  to: z.string(),
  /** What prev pointed at before the operation (restored when it does not go through). */
  prevBefore: z.string().nullable(),
  /** After a rollback: where prev should point (the release before the good one). */
  prevAfter: z.string().nullable().default(null),
  /** The release to mark bad once the rollback is healthy. */
  failed: z.string().nullable().default(null),
  /** Remaining fallbacks if `to` is not healthy either. */
  fallbacks: z.array(z.string()).default([]),
  at: z.string(),
});
export type Journal = z.output<typeof JournalSchema>;

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
    const parsed = JournalSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`journal ${this.path} is not valid: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return parsed.data;
  }

  async write(entry: Omit<Journal, 'at' | 'prevAfter' | 'failed' | 'fallbacks'> & Partial<Journal>): Promise<void> {
    const full = JournalSchema.parse({ ...entry, at: new Date().toISOString() });
    await writeFileAtomic(this.path, `${JSON.stringify(full)}\n`, 0o600);
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
