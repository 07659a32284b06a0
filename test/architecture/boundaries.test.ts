// The house's boundaries, enforced: which folder may import which, and only through its door (docs/architecture.md).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../helpers/repo.js';


/** Folders of the product and what each may import (besides itself, node: and npm packages). */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  shared: [],
  pki: ['shared'],
  'controller-client': ['shared', 'pki'],
  controller: ['shared', 'pki'],
  updater: ['shared', 'pki', 'controller-client'],
  agent: ['shared', 'pki', 'controller-client'],
  cli: ['shared', 'pki', 'controller-client'],
};
/**
 * Folders entered only through their doors. shared/ is a toolkit of small modules, each its own door. pki/ has a
 * light door besides its index: verify.ts, for processes that only verify what the CA published (no node-forge).
 */
const DOORS: Readonly<Record<string, readonly string[]>> = {
  pki: ['pki/index.ts', 'pki/verify.ts'],
  'controller-client': ['controller-client/index.ts'],
  controller: [], updater: [], agent: [], cli: [],
};

export interface ImportEdge { from: string; to: string; spec: string }

/** Relative imports of every .ts file under the product folders (tests, benches and scripts are not the product). */
export function importEdges(root: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
        const text = readFileSync(path, 'utf8');
        // import/export ... from '…', a bare import '…' (for its side effects), and import('…').
        for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|(?:^|\n)\s*import\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g)) {
          const spec = m[1] ?? m[2] ?? m[3]!;
          edges.push({ from: relative(root, path), to: relative(root, resolve(dirname(path), spec)).replace(/\.js$/, '.ts'), spec });
        }
      }
    }
  };
  for (const folder of Object.keys(ALLOWED)) if (existsSync(join(root, folder))) walk(join(root, folder));
  return edges;
}

/** Every edge that breaks a rule, as a readable line. */
export function boundaryViolations(edges: readonly ImportEdge[]): string[] {
  const bad: string[] = [];
  for (const e of edges) {
    const fromTop = e.from.split('/')[0]!;
    const toTop = e.to.split('/')[0]!;
    if (fromTop === toTop) continue;
    if (!(ALLOWED[fromTop] ?? []).includes(toTop)) bad.push(`${e.from} imports ${e.to}: ${fromTop}/ may not import ${toTop}/`);
    else if (DOORS[toTop] && !DOORS[toTop]!.includes(e.to)) bad.push(`${e.from} imports ${e.to}: enter ${toTop}/ through ${DOORS[toTop]!.join(' or ') || 'nothing (it is a program)'}`);
  }
  return bad;
}

describe('architecture boundaries', () => {
  const root = repoRoot(dirname(fileURLToPath(import.meta.url)));

  it('keeps every import inside the allowed folders, through their doors', () => {
    assert.deepEqual(boundaryViolations(importEdges(root)), []);
  });

  it('reads every form of import: from, bare (side effects only), dynamic, and re-exports', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'swarm-boundaries-'));
    try {
      await mkdir(join(tmp, 'shared'));
      await writeFile(join(tmp, 'shared', 'a.ts'), [
        "import { x } from '../pki/csr.js';",
        "import '../updater/install/index.js';",
        "export { y } from './b.js';",
        "const lazy = () => import('../controller/app.js');",
      ].join('\n'));
      assert.deepEqual(importEdges(tmp).map((e) => e.to).sort(), ['controller/app.ts', 'pki/csr.ts', 'shared/b.ts', 'updater/install/index.ts']);
      assert.equal(boundaryViolations(importEdges(tmp)).length, 3, 'shared/ imports nothing of ours: three upward imports');
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('fails on a deliberately wrong import (the check is not vacuous)', () => {
    const wrong: ImportEdge[] = [
      { from: 'agent/run.ts', to: 'updater/engine.ts', spec: '../updater/engine.js' },
      { from: 'shared/tls.ts', to: 'pki/index.ts', spec: '../pki/index.js' },
      { from: 'updater/join.ts', to: 'pki/csr.ts', spec: '../pki/csr.js' },
      { from: 'controller/app.ts', to: 'controller-client/index.ts', spec: '../controller-client/index.js' },
    ];
    assert.equal(boundaryViolations(wrong).length, 4);
    assert.deepEqual(boundaryViolations([
      { from: 'updater/join.ts', to: 'pki/index.ts', spec: '../pki/index.js' },
      { from: 'controller-client/host-revocation.ts', to: 'pki/verify.ts', spec: '../pki/verify.js' },
    ]), []);
  });
});
