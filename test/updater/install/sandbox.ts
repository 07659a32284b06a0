// A host-like install sandbox with a sentinel tree around it, and a byte-for-byte snapshot to prove nothing changed.
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { ReleaseStore } from '../../../updater/install/index.js';
import { buildRelease } from '../../../shared/release/index.js';
import { tempDir } from '../../helpers/pki.js';
import { writeReleaseTree } from '../../helpers/releases.js';

export interface Sandbox {
  /** the temp dir holding everything */
  outer: string;
  /** the install root (releases/, active, prev) */
  root: string;
  store: ReleaseStore;
  /** dirName of the pre-installed active release */
  activeDir: string;
  cleanup(): Promise<void>;
}

/**
 * outer/
 *   sentinel/secret.txt, sentinel/sub/     (what `..` and absolute-path tricks aim at)
 *   host/releases/<active>/, host/active, host/prev, host/staging/, host/state/
 */
export async function createSandbox(): Promise<Sandbox> {
  const tmp = await tempDir('swarm-install-');
  const outer = tmp.path;
  const root = join(outer, 'host');
  await mkdir(join(outer, 'sentinel', 'sub'), { recursive: true });
  await writeFile(join(outer, 'sentinel', 'secret.txt'), 'do not touch\n');
  await writeFile(join(outer, 'pwned-marker-parent.txt'), 'parent\n');
  const store = new ReleaseStore({ root, stagingDir: join(root, 'staging'), stateDir: join(root, 'state') });
  await store.init();
  const src = join(outer, 'src-active');
  await writeReleaseTree(src, { version: '0.9.0' });
  const built = await buildRelease(src, {});
  const installed = await store.install({ body: Readable.from([built.tarball]), expectedId: built.id, limits: defaultLimits() });
  await store.setLinks({ active: installed.dirName, prev: null });
  return { outer, root, store, activeDir: installed.dirName, cleanup: tmp.cleanup };
}

export function defaultLimits(): { maxUnpackedBytes: number; maxEntries: number; maxPathBytes: number; maxCompressionRatio: number; maxCompressedBytes: number } {
  return { maxUnpackedBytes: 1024 ** 3, maxEntries: 100_000, maxPathBytes: 4096, maxCompressionRatio: 100, maxCompressedBytes: 1024 ** 3 };
}

/** Every path under dir (except `skip`), with type, mode, and content hash or link target. */
export async function snapshot(dir: string, skip: string[] = []): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const abs = join(d, name);
      const rel = relative(dir, abs);
      if (skip.includes(rel)) continue;
      const st = await lstat(abs);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out.set(rel, `link ${await readlink(abs)}`);
      else if (st.isDirectory()) {
        out.set(rel, `dir ${mode}`);
        await walk(abs);
      } else out.set(rel, `file ${mode} ${st.size} ${createHash('sha256').update(await readFile(abs)).digest('hex')}`);
    }
  };
  await walk(dir);
  return out;
}
