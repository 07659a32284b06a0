// The builder never makes a release the installer refuses: hostile source trees, generated (seeded, bounded).
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { isSwarmError } from '../../../shared/errors.js';
import { MANIFEST_FILE, SIDECAR_FILE } from '../../../shared/release-manifest.js';
import { buildRelease } from '../../../shared/release/index.js';
import { checkTarEntry, createExtractionState, DEFAULT_INSTALL_LIMITS, recordEntry } from '../../../updater/install/index.js';
import { gzipTar, tarEntry, tarHeaders, writeReleaseTree } from '../../helpers/releases.js';
import type { Header } from 'tar-stream';
import { createSandbox, defaultLimits, type Sandbox } from './sandbox.js';
import { seededRandom } from '../../helpers/rng.js';


const ROUNDS = 40;
const PLAIN = ['a', 'bin', 'lib', 'conf', '-x', '_', 'Z9', ' ', 'é', '日本', '🦀', '\u202e', '\ufeff', '\u00a0'];
const DOTTY = ['...', '..a', 'a..', '. .', '.hidden', '..\u200b', '.swarm-release.json', 'swarm-release.json'];
const HOSTILE = ['\x01', '\x1b[31m', '\n', '\t', '\x7f', '\r', '\\', 'a\\..'];

type Made = { kind: 'file' | 'directory'; path: string } | { kind: 'symlink'; path: string; target: string };

function pick<T>(rng: () => number, from: readonly T[]): T {
  return from[Math.floor(rng() * from.length)]!;
}

/** One path component: mostly ordinary, sometimes dotty, sometimes hostile; never "." or "..", at most 255 bytes. */
function component(rng: () => number): string {
  const r = rng();
  const pool = r < 0.08 ? HOSTILE : r < 0.3 ? DOTTY : PLAIN;
  let name = pick(rng, pool);
  while (rng() < 0.4) name += pick(rng, rng() < 0.05 ? HOSTILE : PLAIN);
  return name === '.' || name === '..' ? `${name}x` : name.slice(0, 60);
}

function target(rng: () => number, depth: number): string {
  switch (Math.floor(rng() * 8)) {
    case 0: return `${'../'.repeat(depth)}bin/swarm-agent`; // inside, from any depth
    case 1: return '../'.repeat(depth + 1 + Math.floor(rng() * 3)); // climbs out
    case 2: return '/etc/passwd';
    case 3: return 'a/../b'; // ".." after a name
    case 4: return `x${pick(rng, HOSTILE)}y`;
    case 5: return `${'d/'.repeat(1000 + Math.floor(rng() * 1040))}x`; // 2-4 KB, a long target
    case 6: return component(rng);
    default: return '.';
  }
}

/** Add a few generated entries to a valid release tree; a long path now and then, within PATH_MAX on disk. */
async function populate(root: string, rng: () => number): Promise<Made[]> {
  const made: Made[] = [];
  const budget = 4000 - root.length;
  for (let n = 1 + Math.floor(rng() * 4); n > 0; n -= 1) {
    const parts: string[] = [];
    if (rng() < 0.15) {
      // long: components of ~200 bytes until near the budget
      while (Buffer.byteLength(parts.join('/')) + 210 < budget - 100) parts.push(`${component(rng)}${'L'.repeat(190)}`);
    }
    for (let d = Math.floor(rng() * 3); d >= 0; d -= 1) parts.push(component(rng));
    const path = parts.join('/');
    if (Buffer.byteLength(path) > budget || made.some((m) => m.path === path || path.startsWith(`${m.path}/`) || m.path.startsWith(`${path}/`))) continue;
    // Never over the manifest, bin/ or a name already made; the root sidecar is one the builder leaves out.
    if (path === SIDECAR_FILE || path.startsWith(`${SIDECAR_FILE}/`) || ['bin', MANIFEST_FILE].includes(parts[0]!)) continue;
    const abs = join(root, path);
    await mkdir(dirname(abs), { recursive: true });
    const kind = pick(rng, ['file', 'directory', 'symlink'] as const);
    if (kind === 'file') {
      await writeFile(abs, path);
      made.push({ kind, path });
    } else if (kind === 'directory') {
      await mkdir(abs, { recursive: true });
      made.push({ kind, path });
    } else {
      const t = target(rng, parts.length - 1);
      await symlink(t, abs);
      made.push({ kind, path, target: t });
    }
  }
  return made;
}


/** A failure message names a generated path without pages of it. */
function short(path: string): string {
  return JSON.stringify(path.length > 80 ? `${path.slice(0, 40)}...${path.slice(-30)}` : path);
}

/** The installer's entry check over every entry in order: its refusal (none when every entry passes). */
function refusals(headers: Header[]): string[] {
  const state = createExtractionState();
  for (const h of headers) {
    const d = checkTarEntry(h, state, DEFAULT_INSTALL_LIMITS);
    if (!d.ok) return [`${d.code} ${short(h.name)}`]; // the installer stops at the first
    if (d.action !== 'skip') recordEntry(state, d);
  }
  return [];
}

describe('release build -> install: one path rule', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await createSandbox();
  });
  after(() => sb.cleanup());

  it('never builds what an updater refuses, and refuses only what an updater would (hostile names, links, long paths)', async function () {
    this.timeout(120_000);
    const rng = seededRandom(0x5a4d);
    let built = 0;
    let refused = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      const src = join(sb.outer, `src-${round}`);
      await writeReleaseTree(src, { version: `1.0.${round}` });
      const made = await populate(src, rng);
      const what = `round ${round}: ${made.map((m) => `${m.kind} ${short(m.path)}${m.kind === 'symlink' ? ` -> ${short(m.target)}` : ''}`).join(', ')}`;
      let release: { tarball: Buffer; id: string };
      try {
        release = await buildRelease(src, {});
      } catch (err) {
        assert.ok(isSwarmError(err) && err.code === 'SWARM_ERR_RELEASE_BUILD_SOURCE', `${what}: ${String(err)}`);
        // The same entries packed without the builder: the installer refuses at least one of them.
        const raw = await Promise.all(made.map((m) => tarEntry(m.kind === 'symlink' ? { name: m.path, type: 'symlink', linkname: m.target } : m.kind === 'directory' ? { name: m.path, type: 'directory' } : { name: m.path, content: 'x' })));
        assert.notDeepEqual(refusals(await tarHeaders(gzipTar(raw))), [], `${what}: the builder refused what an updater accepts (${err.message})`);
        refused += 1;
        continue;
      }
      assert.deepEqual(refusals(await tarHeaders(release.tarball)), [], what);
      // and the whole installer (manifest, entrypoint, extraction) takes it
      const installed = await sb.store.install({ body: Readable.from([release.tarball]), expectedId: release.id, limits: defaultLimits() });
      assert.equal(installed.id, release.id, what);
      built += 1;
    }
    // Both sides of the property were exercised, not one.
    assert.ok(built >= 8 && refused >= 8, `built ${built}, refused ${refused}`);
  });
});
