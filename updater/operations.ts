// Durable operation records (state/operations/<id>.json), each rewritten atomically at every step.
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { IdSource } from '../shared/ids.js';
import { writeFileAtomic, makeDirs } from '../shared/files.js';
import { OperationRecordSchema, type OperationRecord, type ReleaseRef } from '../shared/wire.js';

export type OperationKind = OperationRecord['kind'];
export type OperationState = OperationRecord['state'];

const ID_RE = /^[a-z-]+-[0-9a-z]+$/;
/** How many finished records stay on disk. */
const KEEP_RECORDS = 200;

export class OperationStore {
  private readonly cache = new Map<string, OperationRecord>();
  private loaded = false;

  /**
   * `onWriteError`: a record that cannot be written (disk full, I/O error) is reported there and kept in memory
   * instead of failing the operation half-way: the links and the agent matter more than the record.
   */
  constructor(private readonly dir: string, private readonly ids: IdSource, private readonly onWriteError?: (err: unknown, record: OperationRecord) => void) {}

  async init(): Promise<void> {
    await makeDirs(this.dir, 0o755);
    await this.loadAll();
  }

  /** Read the records only (read-only commands): a missing directory is no records, and is not created. */
  async load(): Promise<void> {
    await this.loadAll();
  }

  /** A fresh operation id (taken before the record exists, so a busy answer can name it at once). */
  nextId(): string {
    return this.ids.next('op');
  }

  /** `asked`: who asked for it and why (an asked-for rollback). */
  async create(id: string, kind: OperationKind, release: OperationRecord['release'], from: ReleaseRef | null = null, asked: Pick<OperationRecord, 'requestedBy' | 'reason'> = {}): Promise<OperationRecord> {
    const now = new Date().toISOString();
    const record: OperationRecord = {
      id, kind, state: 'running', release, from, to: null,
      startedAt: now, endedAt: null, error: null, steps: [{ at: now, step: 'started' }], ...asked,
    };
    await this.save(record);
    return record;
  }

  /** Append a step (and apply changes), then persist. */
  async step(record: OperationRecord, step: string, changes: Partial<OperationRecord> = {}, detail?: string): Promise<OperationRecord> {
    Object.assign(record, changes);
    record.steps.push({ at: new Date().toISOString(), step, ...(detail ? { detail } : {}) });
    await this.save(record);
    return record;
  }

  async finish(record: OperationRecord, state: Exclude<OperationState, 'running'>, changes: Partial<OperationRecord> = {}): Promise<OperationRecord> {
    return this.step(record, state, { ...changes, state, endedAt: new Date().toISOString() });
  }

  async get(id: string): Promise<OperationRecord | undefined> {
    if (!ID_RE.test(id)) return undefined;
    const cached = this.cache.get(id);
    if (cached) return cached;
    return this.readOne(id);
  }

  async latest(): Promise<OperationRecord | undefined> {
    if (!this.loaded) await this.loadAll();
    return this.sorted().at(-1);
  }

  /** The newest operation that carried this release id. */
  async latestForRelease(releaseId: string): Promise<OperationRecord | undefined> {
    if (!this.loaded) await this.loadAll();
    return this.sorted().filter((r) => r.release?.id === releaseId && r.kind === 'update').at(-1);
  }

  /**
   * Records newest first, optionally only those of one release or kind: how a controller whose connection
   * dropped learns how a push ended, never guessing.
   */
  async list(filter: { limit?: number; releaseId?: string; kind?: OperationKind } = {}): Promise<OperationRecord[]> {
    if (!this.loaded) await this.loadAll();
    return this.sorted()
      .filter((r) => (filter.releaseId === undefined || r.release?.id === filter.releaseId) && (filter.kind === undefined || r.kind === filter.kind))
      .reverse()
      .slice(0, filter.limit ?? 50);
  }

  /** Records left `running` (by a crash). */
  async unfinished(): Promise<OperationRecord[]> {
    if (!this.loaded) await this.loadAll();
    return this.sorted().filter((r) => r.state === 'running');
  }

  private sorted(): OperationRecord[] {
    return [...this.cache.values()].sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
  }

  private async save(record: OperationRecord): Promise<void> {
    this.cache.set(record.id, record);
    try {
      await writeFileAtomic(join(this.dir, `${record.id}.json`), `${JSON.stringify(record)}\n`, 0o644);
    } catch (err) {
      if (!this.onWriteError) throw err;
      this.onWriteError(err, record);
    }
  }

  private async readOne(id: string): Promise<OperationRecord | undefined> {
    try {
      const parsed = OperationRecordSchema.safeParse(JSON.parse(await readFile(join(this.dir, `${id}.json`), 'utf8')));
      if (!parsed.success) return undefined;
      this.cache.set(id, parsed.data);
      return parsed.data;
    } catch {
      return undefined;
    }
  }

  private async loadAll(): Promise<void> {
    let names: string[] = [];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const name of names) await this.readOne(name.slice(0, -5));
    this.loaded = true;
    const finished = this.sorted().filter((r) => r.state !== 'running');
    for (const old of finished.slice(0, Math.max(0, finished.length - KEEP_RECORDS))) {
      this.cache.delete(old.id);
      await unlink(join(this.dir, `${old.id}.json`)).catch(() => undefined);
    }
  }
}
