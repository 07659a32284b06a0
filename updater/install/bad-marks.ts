// Durable bad-release marks in <stateDir>/bad-releases.json, written atomically and serialized.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../shared/files.js';
import { formatZodIssues } from '../../shared/validation.js';
import { installError } from './errors.js';

export const BAD_RELEASES_FILE = 'bad-releases.json';

const BadMarkSchema = z.object({ id: z.string().regex(/^[0-9a-f]{64}$/), reason: z.string().max(4096), at: z.string() });
const BadFileSchema = z.object({ version: z.literal(1), releases: z.array(BadMarkSchema) });
export type BadMark = z.infer<typeof BadMarkSchema>;

export class BadMarks {
  private readonly file: string;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(stateDir: string, private readonly now: () => Date = () => new Date()) {
    this.file = join(stateDir, BAD_RELEASES_FILE);
  }

  async list(): Promise<BadMark[]> {
    let raw: string;
    try {
      raw = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw installError('SWARM_ERR_INSTALL_STATE_CORRUPT', `${this.file} cannot be read: ${(err as Error).message}`, { cause: err });
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      throw installError('SWARM_ERR_INSTALL_STATE_CORRUPT', `${this.file} is not valid JSON; fix or remove it`, { cause: err });
    }
    const parsed = BadFileSchema.safeParse(json);
    if (!parsed.success) throw installError('SWARM_ERR_INSTALL_STATE_CORRUPT', `${this.file} is invalid: ${formatZodIssues(parsed.error)}`);
    return parsed.data.releases;
  }

  async has(id: string): Promise<boolean> {
    return (await this.list()).some((m) => m.id === id);
  }

  /** Remove a mark (the release becomes installable again); false when it had none. Serialized with mark(). */
  unmark(id: string): Promise<boolean> {
    const run = this.chain.then(async () => {
      const marks = await this.list();
      const kept = marks.filter((m) => m.id !== id);
      if (kept.length === marks.length) return false;
      await writeFileAtomic(this.file, `${JSON.stringify({ version: 1, releases: kept }, null, 2)}\n`);
      return true;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Add (or refresh) a mark; concurrent calls are applied one after another. */
  mark(id: string, reason: string): Promise<void> {
    if (!/^[0-9a-f]{64}$/.test(id)) return Promise.reject(installError('SWARM_ERR_INSTALL_ID_INVALID', `cannot mark ${JSON.stringify(id)} bad: a release id is 64 lowercase hex digits`));
    const run = this.chain.then(async () => {
      const marks = (await this.list()).filter((m) => m.id !== id);
      marks.push({ id, reason: reason.slice(0, 4096), at: this.now().toISOString() });
      await writeFileAtomic(this.file, `${JSON.stringify({ version: 1, releases: marks }, null, 2)}\n`);
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/** A release named by an operator: its whole id, or a prefix of at least 8 hex digits. */
export const RELEASE_QUERY = /^[0-9a-f]{8,64}$/;

/** The one mark a query names, or why it names none (pure: the caller reads the marks). */
export function findMark(marks: readonly BadMark[], query: string): { mark: BadMark } | { none: true } | { ambiguous: string[] } {
  const matches = marks.filter((m) => m.id.startsWith(query));
  if (matches.length === 1) return { mark: matches[0]! };
  return matches.length === 0 ? { none: true } : { ambiguous: matches.map((m) => m.id) };
}
