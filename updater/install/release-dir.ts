// Reading installed releases from disk: the sidecar and manifest of releases/<dirName>, tolerant of junk.
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManifestSchema, MANIFEST_FILE, SIDECAR_FILE, SidecarSchema, releaseDirName, type Manifest } from '../../shared/release-manifest.js';

export interface InstalledRelease {
  id: string;
  version: string;
  /** `<version>-<first 12 hex>` */
  dirName: string;
  /** absolute path of releases/<dirName> */
  dir: string;
  manifest: Manifest;
  /** from the sidecar (added to the API: ordering and display) */
  installedAt: string;
}

/** A release directory name: no separators, never hidden (temp and trash dirs start with a dot). */
export const DIR_NAME_PATTERN = /^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}-[0-9a-f]{12}$/;

/** The release in releasesDir/dirName when it is complete (sidecar and manifest valid and consistent), else undefined. */
export async function readInstalledRelease(releasesDir: string, dirName: string): Promise<InstalledRelease | undefined> {
  if (!DIR_NAME_PATTERN.test(dirName)) return undefined;
  const dir = join(releasesDir, dirName);
  try {
    const st = await lstat(dir);
    if (!st.isDirectory()) return undefined;
    const sidecar = SidecarSchema.safeParse(JSON.parse(await readFile(join(dir, SIDECAR_FILE), 'utf8')));
    if (!sidecar.success || releaseDirName(sidecar.data.version, sidecar.data.id) !== dirName) return undefined;
    const manifest = ManifestSchema.safeParse(JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')));
    if (!manifest.success) return undefined;
    return { id: sidecar.data.id, version: sidecar.data.version, dirName, dir, manifest: manifest.data, installedAt: sidecar.data.installedAt };
  } catch {
    return undefined;
  }
}

/** Every complete release under releasesDir, oldest install first. */
export async function readAllReleases(releasesDir: string): Promise<InstalledRelease[]> {
  let names: string[];
  try {
    names = await readdir(releasesDir);
  } catch {
    return [];
  }
  const found = await Promise.all(names.filter((n) => DIR_NAME_PATTERN.test(n)).map((n) => readInstalledRelease(releasesDir, n)));
  return found
    .filter((r): r is InstalledRelease => r !== undefined)
    .sort((a, b) => (a.installedAt < b.installedAt ? -1 : a.installedAt > b.installedAt ? 1 : a.dirName < b.dirName ? -1 : 1));
}

/** The installed release with this id (its directory name ends with the id's first 12 hex). */
export async function findReleaseById(releasesDir: string, id: string): Promise<InstalledRelease | undefined> {
  let names: string[];
  try {
    names = await readdir(releasesDir);
  } catch {
    return undefined;
  }
  for (const n of names.filter((x) => x.endsWith(`-${id.slice(0, 12)}`))) {
    const r = await readInstalledRelease(releasesDir, n);
    if (r?.id === id) return r;
  }
  return undefined;
}
