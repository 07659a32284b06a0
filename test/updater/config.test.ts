// The updater config: defaults, flags over the file, one clear message naming the bad field, frozen.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultUpdaterConfig, loadUpdaterConfig } from '../../updater/config.js';
import { DEFAULT_INSTALL_LIMITS } from '../../updater/install/index.js';
import { tempDir } from '../helpers/pki.js';

describe('updater config', () => {
  it('has the documented defaults and is frozen', () => {
    const c = defaultUpdaterConfig();
    assert.equal(c.installDir, '/opt/swarm');
    assert.equal(c.pkiDir, '/etc/swarm/pki');
    assert.deepEqual(c.listen, { host: '0.0.0.0', port: 8766 });
    assert.equal(c.agentPort, 8765);
    assert.equal(c.keep, 3);
    assert.equal(c.watch.windowMs, 30_000);
    assert.equal(c.restart, 'auto');
    assert.deepEqual({ ...c.limits }, { ...DEFAULT_INSTALL_LIMITS });
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.probe));
  });

  it('makes every path absolute before handing it on: flags against the cwd, file settings against the file', async () => {
    // Failed on the first main: a relative --pki-dir reached the agent, which runs from its release directory,
    // could not read its certificate, and the good release was rolled back and marked bad.
    const t = await tempDir();
    try {
      const flags = await loadUpdaterConfig(undefined, { pkiDir: 'rel/pki', installDir: './opt' });
      assert.equal(flags.pkiDir, join(process.cwd(), 'rel', 'pki'));
      assert.equal(flags.installDir, join(process.cwd(), 'opt'));
      const file = join(t.path, 'updater.json');
      await writeFile(file, JSON.stringify({ pkiDir: 'pki', signingPublicKeyPath: 'keys/release.pub' }));
      const fromFile = await loadUpdaterConfig(file, {});
      assert.equal(fromFile.pkiDir, join(t.path, 'pki'));
      assert.equal(fromFile.signingPublicKeyPath, join(t.path, 'keys', 'release.pub'));
      assert.equal((await loadUpdaterConfig(file, { pkiDir: 'mine' })).pkiDir, join(process.cwd(), 'mine'));
    } finally {
      await t.cleanup();
    }
  });

  it('lets flags override the file, and names the bad field with the file', async () => {
    const t = await tempDir();
    try {
      const file = join(t.path, 'updater.json');
      await writeFile(file, JSON.stringify({ agentPort: 9000, keep: 5, watch: { windowMs: 100 }, limits: { maxEntries: 10 } }));
      const c = await loadUpdaterConfig(file, { agentPort: 9100, installDir: '/srv/swarm' });
      assert.equal(c.agentPort, 9100);
      assert.equal(c.installDir, '/srv/swarm');
      assert.equal(c.keep, 5);
      assert.equal(c.watch.windowMs, 100);
      assert.equal(c.watch.maxFailures, 3);
      assert.equal(c.limits.maxEntries, 10);
      await writeFile(file, JSON.stringify({ probe: { deadlineMs: 'soon' } }));
      await assert.rejects(loadUpdaterConfig(file, {}), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'SWARM_ERR_CONFIG_INVALID');
        assert.match(err.message, /updater\.json: probe\.deadlineMs/);
        return true;
      });
      await writeFile(file, JSON.stringify({ restrat: 'spawn' }));
      await assert.rejects(loadUpdaterConfig(file, {}), /restrat/);
    } finally {
      await t.cleanup();
    }
  });
});
