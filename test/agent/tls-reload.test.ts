// A certificate rotation caught half-way (new key written, old certificate still there) must never be installed.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAgentMaterial } from '../../agent/run.js';
import { TlsReloader } from '../../agent/tls-reload.js';
import { silentLogger } from '../../shared/logger.js';
import type { TlsMaterial } from '../../shared/tls.js';
import { mintIdentity, tempDir, writeIdentity } from '../helpers/pki.js';

describe('agent TLS reload mid-rotation', () => {
  it('keeps the old pair while only the new key is on disk, and installs the new pair once its certificate lands', async () => {
    const tmp = await tempDir('swarm-agent-tls-');
    try {
      const old = await mintIdentity('agent', 'h1');
      await writeIdentity(tmp.path, old, 'agent');
      const installed: TlsMaterial[] = [];
      const reloader = new TlsReloader({ pkiDir: tmp.path, initial: await loadAgentMaterial(tmp.path), load: () => loadAgentMaterial(tmp.path), install: (m) => installed.push(m), logger: silentLogger() });
      const failures: Error[] = [];
      reloader.on('reload-failed', (e) => failures.push(e));

      const renewed = await mintIdentity('agent', 'h1', { freshKey: true });
      await writeFile(join(tmp.path, 'agent.key'), renewed.key, { mode: 0o600 }); // key first, certificate not yet
      await reloader.reload('files changed');
      assert.equal(installed.length, 0, 'a mismatched pair was handed to setSecureContext');
      assert.match(failures[0]?.message ?? '', /does not belong/);
      assert.equal(reloader.current.serial, old.serial);

      await writeFile(join(tmp.path, 'agent.crt'), renewed.cert);
      await reloader.reload('files changed');
      assert.equal(installed.length, 1);
      assert.equal(installed[0]!.serial, renewed.serial);
      assert.equal(reloader.current.serial, renewed.serial);
    } finally {
      await tmp.cleanup();
    }
  });
});
