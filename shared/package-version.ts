// Swarm's own version, from the package.json above the built code (what every program's --version prints).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The version in the nearest package.json named "swarm" above this module; "0.0.0" when none is found. */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6 && cached === undefined; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'swarm' && typeof pkg.version === 'string') cached = pkg.version;
    } catch {
      // keep climbing
    }
    dir = dirname(dir);
  }
  return (cached ??= '0.0.0');
}
