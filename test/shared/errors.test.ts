// Every error code is unique, well-formed and documented in docs/errors.md with its HTTP status.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineErrors, listErrorCodes, SwarmError } from '../../shared/errors.js';

/** The build root (dist/ or .build/<name>/) and the repository root above it. */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
function findRepoRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
}
const docsFile = join(findRepoRoot(root), 'docs', 'errors.md');
/** Each package area keeps its catalogue in <area>/errors.js; load every one that exists. */
const AREAS = ['pki', 'controller', 'agent', 'updater', 'cli'];

describe('error catalogue', () => {
  before(async () => {
    for (const area of AREAS) {
      const file = join(root, area, 'errors.js');
      if (existsSync(file)) await import(file);
    }
  });

  it('documents every code in docs/errors.md with its status', () => {
    const doc = readFileSync(docsFile, 'utf8');
    const missing: string[] = [];
    for (const { code, status } of listErrorCodes()) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
      if (!row) missing.push(`${code} (not in docs/errors.md)`);
      else if (!row.includes(`| ${status} |`)) missing.push(`${code} (docs give another status than ${status})`);
    }
    assert.deepEqual(missing, []);
  });

  it('documents no code that does not exist', () => {
    const doc = readFileSync(docsFile, 'utf8');
    const known = new Set(listErrorCodes().map((e) => e.code));
    const documented = [...doc.matchAll(/^\| `(SWARM_ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);
    assert.deepEqual(documented.filter((c) => !known.has(c)), []);
    assert.equal(new Set(documented).size, documented.length, 'a code is documented twice');
  });

  it('refuses a code defined twice and malformed codes', () => {
    assert.throws(() => defineErrors('dup', { SWARM_ERR_INTERNAL: { status: 500, summary: 'x' } }), /defined twice/);
    assert.throws(() => defineErrors('bad', { 'ERR-lower': { status: 500, summary: 'x' } }), /does not match/);
  });

  it('carries status and wire shape', () => {
    const err = new SwarmError('SWARM_ERR_NOT_FOUND', 'no such host h1');
    assert.equal(err.status, 404);
    assert.deepEqual(err.toJSON(), { code: 'SWARM_ERR_NOT_FOUND', message: 'no such host h1' });
  });
});
