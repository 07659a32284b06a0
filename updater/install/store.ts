// The release store: installed releases under <root>/releases, the active/prev links, bad marks, pruning.
import { randomBytes } from 'node:crypto';
import { readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../../shared/logger.js';
import { BadMarks, type BadMark } from './bad-marks.js';
import { installError } from './errors.js';
import { installRelease, type InstallRequest } from './installer.js';
import { pointLink, readLinkTarget, removeStaleLinkTemps } from './links.js';
import { findReleaseById, readAllReleases, readInstalledRelease, type InstalledRelease } from './release-dir.js';
import { removeTree } from './remove-tree.js';
import { syncFilesystem } from './sync-queue.js';
import { fsyncDir, makeDirs } from '../../shared/files.js';

export interface ReleaseStoreOptions {
  /** where releases/, active, prev live */
  root: string;
  /** in-flight extraction (same filesystem as root) */
  stagingDir: string;
  /** where bad-releases.json is kept */
  stateDir: string;
  logger?: Logger;
  /** clock seam for installedAt and bad marks */
  now?: () => Date;
  /** Makes a staged release durable (syncfs); false sends the installer to fsync each path. Tests record it. */
  syncFilesystem?: (path: string) => Promise<boolean>;
}

export type ListedRelease = InstalledRelease & { active: boolean; prev: boolean; bad: boolean };

export class ReleaseStore {
  readonly root: string;
  readonly releasesDir: string;
  readonly stagingDir: string;
  readonly stateDir: string;
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly bad: BadMarks;
  private readonly syncFilesystem: (path: string) => Promise<boolean>;

  constructor(options: ReleaseStoreOptions) {
    this.root = options.root;
    this.releasesDir = join(options.root, 'releases');
    this.stagingDir = options.stagingDir;
    this.stateDir = options.stateDir;
    this.logger = options.logger ?? silentLogger();
    this.now = options.now ?? (() => new Date());
    this.bad = new BadMarks(options.stateDir, this.now);
    this.syncFilesystem = options.syncFilesystem ?? ((path) => syncFilesystem(path));
  }

  /** mkdir -p releases, staging, state; empty staging; drop temp links a crash left. */
  async init(): Promise<void> {
    await makeDirs(this.releasesDir, 0o755);
    await makeDirs(this.stagingDir, 0o755);
    await makeDirs(this.stateDir, 0o755);
    await this.emptyStaging();
    await removeStaleLinkTemps(this.root);
  }

  /** Remove everything under staging (in-flight extractions of a previous run). */
  async emptyStaging(): Promise<void> {
    // One at a time, each with a bounded number of unlinks in flight: no memory spike on a 5,000-file release.
    for (const n of await readdir(this.stagingDir)) await removeTree(join(this.stagingDir, n));
  }

  install(req: InstallRequest): Promise<InstalledRelease> {
    return installRelease(
      { releasesDir: this.releasesDir, stagingDir: this.stagingDir, isBad: (id) => this.isBad(id), logger: this.logger, now: this.now, syncFilesystem: this.syncFilesystem },
      req,
    );
  }

  /** A complete installed release by id (64 hex) or directory name. */
  async get(idOrDirName: string): Promise<InstalledRelease | undefined> {
    if (/^[0-9a-f]{64}$/.test(idOrDirName)) return findReleaseById(this.releasesDir, idOrDirName);
    return readInstalledRelease(this.releasesDir, idOrDirName);
  }

  async list(): Promise<ListedRelease[]> {
    const [all, links, bad] = await Promise.all([readAllReleases(this.releasesDir), this.readLinkNames(), this.bad.list().catch(() => [] as BadMark[])]);
    const badIds = new Set(bad.map((b) => b.id));
    return all.map((r) => ({ ...r, active: r.dirName === links.active, prev: r.dirName === links.prev, bad: badIds.has(r.id) }));
  }

  private async readLinkNames(): Promise<{ active: string | null; prev: string | null }> {
    const [active, prev] = await Promise.all([readLinkTarget(this.root, 'active'), readLinkTarget(this.root, 'prev')]);
    return { active, prev };
  }

  /** What active and prev point at; null when a link is missing, dangling or points at an incomplete release. */
  async readLinks(): Promise<{ active: InstalledRelease | null; prev: InstalledRelease | null }> {
    const names = await this.readLinkNames();
    const [active, prev] = await Promise.all([
      names.active === null ? undefined : readInstalledRelease(this.releasesDir, names.active),
      names.prev === null ? undefined : readInstalledRelease(this.releasesDir, names.prev),
    ]);
    return { active: active ?? null, prev: prev ?? null };
  }

  /** Point prev, then active, each atomically with the root fsynced; both must be complete releases. */
  async setLinks(links: { active: string; prev: string | null }): Promise<void> {
    for (const name of [links.active, links.prev]) {
      if (name !== null && !(await readInstalledRelease(this.releasesDir, name))) {
        throw installError('SWARM_ERR_INSTALL_RELEASE_UNKNOWN', `releases/${name} is not a complete installed release`);
      }
    }
    await pointLink(this.root, 'prev', links.prev);
    await pointLink(this.root, 'active', links.active);
    this.logger.info({ active: links.active, prev: links.prev }, 'links switched');
  }

  markBad(id: string, reason: string): Promise<void> {
    return this.bad.mark(id, reason);
  }

  unmarkBad(id: string): Promise<boolean> {
    return this.bad.unmark(id);
  }

  isBad(id: string): Promise<boolean> {
    return this.bad.has(id);
  }

  listBad(): Promise<BadMark[]> {
    return this.bad.list();
  }

  /**
   * Delete the oldest releases until at most `keep` remain, never active or prev (they are kept even
   * beyond `keep`). Each is first renamed out of releases/ so a crash never leaves half a release there.
   */
  async prune(keep: number): Promise<string[]> {
    const all = await readAllReleases(this.releasesDir);
    const links = await this.readLinkNames();
    const protectedNames = new Set([links.active, links.prev].filter((n): n is string => n !== null));
    let excess = all.length - Math.max(0, keep);
    if (excess <= 0) return [];
    // Releases marked bad go first (their marks outlive them, so they stay refused), then the oldest.
    const bad = new Set((await this.bad.list().catch(() => [] as BadMark[])).map((m) => m.id));
    const order = [...all.filter((r) => bad.has(r.id)), ...all.filter((r) => !bad.has(r.id))];
    const deleted: string[] = [];
    for (const r of order) {
      if (excess <= 0) break;
      if (protectedNames.has(r.dirName)) continue;
      const trash = join(this.stagingDir, `.trash-${r.dirName}-${randomBytes(4).toString('hex')}`);
      await rename(r.dir, trash);
      deleted.push(r.dirName);
      excess -= 1;
    }
    if (deleted.length === 0) return deleted;
    await fsyncDir(this.releasesDir);
    for (const n of await readdir(this.stagingDir)) if (n.startsWith('.trash-')) await removeTree(join(this.stagingDir, n));
    this.logger.info({ deleted }, 'pruned releases');
    return deleted;
  }
}
