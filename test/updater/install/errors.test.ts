// The installer's codes are unique, SWARM_ERR_-shaped and documented in docs/errors.md with their statuses.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listErrorCodes } from '../../../shared/errors.js';
import '../../../updater/install/errors.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
}

describe('updater/install: error catalogue', () => {
  it('documents every installer and builder code with its status in the updater install section', () => {
    const doc = readFileSync(join(repoRoot(), 'docs', 'errors.md'), 'utf8');
    const section = doc.split(/^## /m).find((s) => s.startsWith('updater install'));
    assert.ok(section, 'docs/errors.md has a "## updater install" section');
    const mine = listErrorCodes().filter((e) => e.area === 'updater-install' || e.area === 'release-build');
    assert.ok(mine.length >= 30);
    for (const { code, status } of mine) {
      const row = section.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
      assert.ok(row, `${code} is documented`);
      assert.ok(row.includes(`| ${status} |`), `${code} is documented with status ${status}`);
    }
    const documented = [...section.matchAll(/^\| `(SWARM_ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual(documented.sort(), mine.map((e) => e.code).sort());
  });
});
