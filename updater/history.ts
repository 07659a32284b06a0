// The commit history (state/history.json): which releases were healthy here, newest last; rollback targets come from it.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from '../shared/files.js';

const HistorySchema = z.array(z.object({ id: z.string(), dirName: z.string(), at: z.string() }));
export type HistoryEntry = z.output<typeof HistorySchema>[number];

const MAX_ENTRIES = 50;

export class CommitHistory {
  constructor(private readonly path: string) {}

  async read(): Promise<HistoryEntry[]> {
    try {
      const parsed = HistorySchema.safeParse(JSON.parse(await readFile(this.path, 'utf8')));
      return parsed.success ? parsed.data : [];
    } catch {
      return [];
    }
  }

  async append(id: string, dirName: string): Promise<void> {
    const entries = (await this.read()).filter((e) => e.dirName !== dirName);
    entries.push({ id, dirName, at: new Date().toISOString() });
    await writeFileAtomic(this.path, `${JSON.stringify(entries.slice(-MAX_ENTRIES))}\n`, 0o644);
  }

  /** Release dir names that were healthy here, newest first. */
  async goodNewestFirst(): Promise<string[]> {
    return (await this.read()).map((e) => e.dirName).reverse();
  }
}
