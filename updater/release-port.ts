// What the updater needs from the installer's ReleaseStore (updater/install); narrowed so tests and the engine agree.
import type { InstalledRelease, ReleaseStore } from './install/index.js';
import type { ReleaseRef } from '../shared/wire.js';

export type ReleaseStoreLike = Pick<ReleaseStore, 'init' | 'install' | 'get' | 'list' | 'readLinks' | 'setLinks' | 'markBad' | 'unmarkBad' | 'isBad' | 'listBad' | 'prune'>;
export type { InstalledRelease };

/** The wire reference of an installed release (`dir` is the release dir name). */
export function refOf(r: InstalledRelease): ReleaseRef {
  return { id: r.id, version: r.version, dir: r.dirName };
}
