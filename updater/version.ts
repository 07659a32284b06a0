// Which updater this is: the release it runs from (sidecar in its cwd) or the packaged version.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SidecarSchema, SIDECAR_FILE } from '../shared/release-manifest.js';

export async function readUpdaterVersion(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.SWARM_UPDATER_RELEASE_DIR) {
    try {
      return SidecarSchema.parse(JSON.parse(await readFile(join(process.cwd(), SIDECAR_FILE), 'utf8'))).version;
    } catch {
      // fall through to the package version
    }
  }
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version?: unknown };
      if (typeof pkg.version === 'string') return pkg.version;
    } catch {
      // keep climbing
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}
