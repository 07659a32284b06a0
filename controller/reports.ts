// The latest report of each host's agent and updater: kept in memory, written behind to the store in batches; on a
// shared database (replicas) the reports other replicas wrote are merged in on demand (`refresh`), newest wins.
import type { Logger } from 'pino';
import type { Clock } from '../shared/clock.js';
import { isSharedStore, type ChannelReport, type HostReportRecord, type Store } from './store/index.js';

export class ReportCache {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #reports = new Map<string, HostReportRecord>();
  readonly #dirty = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  /** The write in progress: flushes run one after another, so an older batch never lands after a newer one. */
  #writing: Promise<void> = Promise.resolve();

  /** The refresh in progress: callers arriving meanwhile share it (one store read however many ask at once). */
  #refreshing: Promise<void> | undefined;

  /** A cache holding the reports saved before (the controller's start). */
  static async load(store: Store, clock: Clock, logger: Logger): Promise<ReportCache> {
    const cache = new ReportCache(store, clock, logger);
    for (const r of await store.listReports()) cache.#reports.set(r.hostName, r);
    return cache;
  }

  private constructor(store: Store, clock: Clock, logger: Logger) {
    this.#store = store;
    this.#clock = clock;
    this.#logger = logger;
  }

  /** Flush dirty reports every `everyMs` (one transaction per flush). */
  start(everyMs: number): void {
    const tick = (): void => {
      void this.flush();
      this.#timer = this.#clock.setTimeout(tick, everyMs);
      this.#timer.unref?.();
    };
    this.#timer = this.#clock.setTimeout(tick, everyMs);
    this.#timer.unref?.();
  }

  async stop(): Promise<void> {
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  record(host: string, role: 'agent' | 'updater', report: ChannelReport): void {
    const current = this.#reports.get(host) ?? { hostName: host, lastContact: null, agent: null, updater: null };
    const next: HostReportRecord = { ...current, lastContact: report.at, [role]: report };
    this.#reports.set(host, next);
    this.#dirty.add(host);
  }

  /** A channel that only pings still counts as contact. */
  touch(host: string, at: number): void {
    const current = this.#reports.get(host);
    if (current) {
      current.lastContact = at;
      this.#dirty.add(host);
    }
  }

  get(host: string): HostReportRecord | undefined {
    return this.#reports.get(host);
  }

  forget(host: string): void {
    this.#reports.delete(host);
    this.#dirty.delete(host);
  }

  /**
   * On a shared database: merge in the reports the store holds (written by any replica), newest per role, so views
   * read next show what every replica heard. Nothing to do when this process is the only writer. Rejects when the
   * store does.
   */
  refresh(): Promise<void> {
    if (!isSharedStore(this.#store)) return Promise.resolve();
    this.#refreshing ??= this.#store.listReports()
      .then((stored) => {
        for (const r of stored) this.#reports.set(r.hostName, mergeReports(this.#reports.get(r.hostName), r));
      })
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  /** Write the dirty reports in one batch (one store call, never one per host); never rejects: a failure is logged and retried. */
  flush(): Promise<void> {
    this.#writing = this.#writing.then(() => this.#write());
    return this.#writing;
  }

  async #write(): Promise<void> {
    if (this.#dirty.size === 0) return;
    const batch = [...this.#dirty].map((h) => this.#reports.get(h)).filter((r): r is HostReportRecord => r !== undefined);
    this.#dirty.clear();
    try {
      await this.#store.saveReports(batch);
    } catch (err) {
      this.#logger.error({ err, op: 'reports.flush' }, 'could not save host reports; retrying at the next flush');
      for (const r of batch) this.#dirty.add(r.hostName);
    }
  }
}

const newer = (a: ChannelReport | null, b: ChannelReport | null): ChannelReport | null => (a === null ? b : b === null || a.at >= b.at ? a : b);

/** A host's reports from two sources: each role's newest report, the latest contact. */
export function mergeReports(mine: HostReportRecord | undefined, theirs: HostReportRecord): HostReportRecord {
  if (!mine) return theirs;
  const contact = [mine.lastContact, theirs.lastContact].filter((t): t is number => t !== null);
  return {
    hostName: mine.hostName,
    lastContact: contact.length > 0 ? Math.max(...contact) : null,
    agent: newer(mine.agent, theirs.agent),
    updater: newer(mine.updater, theirs.updater),
  };
}
