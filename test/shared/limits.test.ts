// Every limit in shared/limits.ts is documented in docs/limits.md with the same value, and nothing else is.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIMITS, type Limit } from '../../shared/limits.js';
import { repoRoot } from '../helpers/repo.js';


describe('limits', () => {
  const doc = readFileSync(join(repoRoot(dirname(fileURLToPath(import.meta.url))), 'docs', 'limits.md'), 'utf8');
  const rows = new Map<string, { value: string; unit: string }>();
  for (const line of doc.split('\n')) {
    const m = /^\| `([a-z0-9.-]+)` \| ([^|]+) \| ([^|]+) \|/i.exec(line);
    if (m) rows.set(m[1]!, { value: m[2]!.trim().replace(/[_,]/g, ''), unit: m[3]!.trim() });
  }
  const entries = Object.entries(LIMITS) as Array<[string, Limit]>;

  it('documents every limit with its value and unit in docs/limits.md', () => {
    const wrong: string[] = [];
    for (const [name, l] of entries) {
      const row = rows.get(name);
      if (!row) wrong.push(`${name}: not in docs/limits.md`);
      else if (row.value !== String(l.value) || row.unit !== l.unit) wrong.push(`${name}: docs say ${row.value} ${row.unit}, code says ${l.value} ${l.unit}`);
    }
    assert.deepEqual(wrong, []);
  });

  it('documents no limit that the code does not have', () => {
    const known = new Set(entries.map(([n]) => n));
    assert.deepEqual([...rows.keys()].filter((n) => !known.has(n)), []);
  });

  it('gives every limit a positive value and a reason', () => {
    for (const [name, l] of entries) {
      assert.ok(Number.isFinite(l.value) && l.value > 0, `${name} has a positive value`);
      assert.ok(l.why.length >= 20, `${name} says why`);
    }
  });
});
