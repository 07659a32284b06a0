// npm run release: the staged tree (dist without tests, production packages, bin/swarm-agent, manifest) passes the real installer.
// The full package of this checkout (~18 MB, tens of seconds) runs only with SWARM_TEST_RELEASE=1; the default test stages a small fake project.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEFAULT_INSTALL_LIMITS, ReleaseStore } from '../../updater/install/index.js';
import { buildReleaseToFile } from '../../shared/release/index.js';
import { packageSwarm, stageSwarmRelease } from '../../scripts/release.js';
import { tempDir } from '../helpers/pki.js';

async function install(root: string, file: string, id: string) {
  const store = new ReleaseStore({ root: join(root, 'host'), stagingDir: join(root, 'host', 'staging'), stateDir: join(root, 'host', 'state') });
  await store.init();
  return store.install({ body: createReadStream(file), expectedId: id, limits: DEFAULT_INSTALL_LIMITS });
}

async function put(path: string, content: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content, { mode });
}

describe('npm run release (scripts/release.ts)', function () {
  this.timeout(30_000);

  it('stages dist without tests, benches or scripts, the production packages without their nested dev ones, bin/swarm-agent and a manifest; the installer takes it', async () => {
    const t = await tempDir('swarm-release-test-');
    try {
      const root = join(t.path, 'project');
      const dist = join(root, 'dist');
      await put(join(root, 'package.json'), JSON.stringify({ name: 'swarm', version: '9.8.7' }));
      await put(join(dist, 'agent', 'main.js'), 'console.log("agent")\n');
      for (const skipped of ['test/a.test.js', 'bench/run.js', 'scripts/demo.js']) await put(join(dist, skipped), '//\n');
      await put(join(root, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'), 'binary');
      await put(join(root, 'node_modules', 'zod', 'index.js'), 'export {}\n');
      await put(join(root, 'node_modules', 'zod', 'node_modules', 'dev-only', 'index.js'), '//\n');
      await put(join(root, 'node_modules', 'mocha', 'index.js'), '//\n');
      const stage = join(t.path, 'stage');
      await mkdir(stage);
      const staged = await stageSwarmRelease({
        root, dist, stage,
        listProductionPackages: async () => [join(root, 'node_modules', 'better-sqlite3'), join(root, 'node_modules', 'zod'), join(root, 'node_modules', 'zod')],
      });
      assert.deepEqual(staged, { version: '9.8.7', packages: 2 });
      const manifest = JSON.parse(await readFile(join(stage, 'swarm-release.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(manifest, { name: 'swarm', version: '9.8.7', entrypoint: ['bin/swarm-agent', 'run'], services: [] });
      const file = join(t.path, 'swarm.tar.gz');
      const built = await buildReleaseToFile(stage, file, { version: '9.8.7' });
      const installed = await install(t.path, file, built.id);
      const dir = installed.dir;
      assert.equal(((await stat(join(dir, 'bin', 'swarm-agent'))).mode & 0o111) !== 0, true, 'the entry point is executable');
      await stat(join(dir, 'dist', 'agent', 'main.js'));
      await stat(join(dir, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'));
      await stat(join(dir, 'node_modules', 'zod', 'index.js'));
      for (const absent of ['dist/test', 'dist/bench', 'dist/scripts', 'node_modules/mocha', 'node_modules/zod/node_modules']) {
        await assert.rejects(stat(join(dir, absent)), `${absent} is not in the release`);
      }
    } finally {
      await t.cleanup();
    }
  });

  it('refuses to package without the better-sqlite3 binding', async () => {
    const t = await tempDir('swarm-release-test-');
    try {
      const root = join(t.path, 'project');
      await put(join(root, 'package.json'), JSON.stringify({ name: 'swarm', version: '1.0.0' }));
      await put(join(root, 'dist', 'agent', 'main.js'), '//\n');
      await put(join(root, 'node_modules', 'better-sqlite3', 'lib', 'index.js'), '//\n');
      await mkdir(join(t.path, 'stage'));
      await assert.rejects(stageSwarmRelease({ root, dist: join(root, 'dist'), stage: join(t.path, 'stage'), listProductionPackages: async () => [join(root, 'node_modules', 'better-sqlite3')] }), /better_sqlite3\.node is missing/);
    } finally {
      await t.cleanup();
    }
  });

  it('packages this checkout: the installer takes it and its agent entry point runs (SWARM_TEST_RELEASE=1)', async function () {
    if (process.env.SWARM_TEST_RELEASE !== '1') this.skip();
    this.timeout(300_000);
    const buildRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
    const t = await tempDir('swarm-release-full-');
    try {
      const r = await packageSwarm(resolve(buildRoot, '..'), buildRoot, t.path);
      const again = await packageSwarm(resolve(buildRoot, '..'), buildRoot, join(t.path, 'again'));
      assert.equal(again.id, r.id, 'reproducible: the same checkout gives the same id');
      const installed = await install(t.path, r.file, r.id);
      const { stdout } = await promisify(execFile)(join(installed.dir, 'bin', 'swarm-agent'), ['--version'], { env: { ...process.env, SWARM_NODE: process.execPath }, timeout: 30_000 });
      assert.match(stdout, /\d+\.\d+\.\d+/);
    } finally {
      await t.cleanup();
    }
  });
});
