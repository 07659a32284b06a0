// Every error code is unique, well-formed and documented in docs/errors.md with its HTTP status.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { defineErrors, listErrorCodes, SwarmError } from '../../shared/errors.js';
import { repoRoot } from '../helpers/repo.js';

/** The build root (dist/ or .build/<name>/) and the repository root above it. */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const docsFile = join(repoRoot(root), 'docs', 'errors.md');
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

  it('names only catalogued codes in the sources: a mistyped code in a comparison or a record fails here', () => {
    const src = repoRoot(root);
    const known = new Set(listErrorCodes().map((e) => e.code));
    const unknown: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
          for (const m of readFileSync(path, 'utf8').matchAll(/\bSWARM_ERR_[A-Z0-9_]*[A-Z0-9]\b/g)) {
            if (!known.has(m[0])) unknown.push(`${relative(src, path)}: ${m[0]}`);
          }
        }
      }
    };
    for (const area of [...AREAS, 'shared', 'controller-client', 'scripts', 'bench']) if (existsSync(join(src, area))) walk(join(src, area));
    assert.deepEqual([...new Set(unknown)], []);
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

  it('gives an error built before its catalogue loads the catalogue\'s status, and logs it', async () => {
    // A fresh process: in this one every catalogue is loaded already.
    const url = (p: string): string => pathToFileURL(join(root, p)).href;
    const script = `
      const { SwarmError } = await import(${JSON.stringify(url('shared/errors.js'))});
      const early = new SwarmError('SWARM_ERR_INSTALL_TOO_LARGE', 'too big');
      await import(${JSON.stringify(url('updater/install/errors.js'))});
      process.stdout.write(JSON.stringify({ status: early.status, logged: { ...early }.status }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 });
    assert.deepEqual(JSON.parse(stdout), { status: 413, logged: 413 });
  });

  it('keeps a remote answer\'s code, and the status it was answered with when the code is not known here', async () => {
    const { remoteAnswerError } = await import('../../shared/remote-errors.js');
    const known = remoteAnswerError({ code: 'SWARM_ERR_NOT_FOUND', message: 'no such host h1' }, 404);
    assert.deepEqual([known.code, known.status, known.message], ['SWARM_ERR_NOT_FOUND', 404, 'no such host h1']);
    const newer = remoteAnswerError({ code: 'SWARM_ERR_FROM_A_NEWER_CONTROLLER', message: 'x' }, 409);
    assert.deepEqual([newer.code, newer.status], ['SWARM_ERR_FROM_A_NEWER_CONTROLLER', 409]);
    assert.equal(remoteAnswerError({ code: 'SWARM_ERR_UPDATER_BUSY', message: 'busy' }).status, 409);
  });
});
