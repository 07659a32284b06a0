// An updater configured with a release-signing key refuses unsigned and badly signed releases, and installs signed ones.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { signReleaseId } from '../../shared/release/index.js';
import { tempDir } from '../helpers/pki.js';
import { buildAgentRelease } from './helpers/agent-release.js';
import { agentHealth, call, makeHost, startUpdater, updaterClient, type RunningUpdater, type TestHost } from './helpers/host.js';

describe('updater: signed releases', function () {
  this.timeout(60_000);
  let host: TestHost;
  let updater: RunningUpdater;
  let client: Dispatcher;
  let keyDir: { path: string; cleanup: () => Promise<void> };
  const keys = generateKeyPairSync('ed25519');
  const privatePem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const other = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

  before(async () => {
    keyDir = await tempDir('swarm-u2-key-');
    const keyFile = join(keyDir.path, 'release-signing.pub');
    await writeFile(keyFile, keys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    host = await makeHost({ signingPublicKeyPath: keyFile });
    updater = await startUpdater(host);
    client = (await updaterClient()).dispatcher;
  });

  after(async () => {
    await client?.close();
    await updater?.stop();
    await host?.cleanup();
    await keyDir?.cleanup();
  });

  it('refuses an unsigned release and one signed with another key; accepts the signed one', async () => {
    const rel = await buildAgentRelease('1.0.0');
    const unsigned = await call(client, updater.port, 'POST', '/v1/update', rel.tarball, { 'x-swarm-release-sha256': rel.id });
    assert.equal(unsigned.status, 400);
    assert.equal(unsigned.body.code, 'SWARM_ERR_INSTALL_SIGNATURE_MISSING');
    const forged = await call(client, updater.port, 'POST', '/v1/update', rel.tarball, { 'x-swarm-release-sha256': rel.id, 'x-swarm-release-signature': signReleaseId(rel.id, other) });
    assert.equal(forged.status, 400);
    assert.equal(forged.body.code, 'SWARM_ERR_INSTALL_SIGNATURE_INVALID');
    const signed = await call(client, updater.port, 'POST', '/v1/update', rel.tarball, { 'x-swarm-release-sha256': rel.id, 'x-swarm-release-signature': signReleaseId(rel.id, privatePem) });
    assert.equal(signed.status, 200, JSON.stringify(signed.body));
    assert.equal((await agentHealth(host)).release, rel.id);
  });
});
