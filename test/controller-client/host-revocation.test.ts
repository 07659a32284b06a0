// A host's denylist: CRLs are applied only when the pinned CA signed them and they are not older than the last one.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CertificateAuthority, createCa, createCrl } from '../../pki/index.js';
import { HostRevocation } from '../../controller-client/host-revocation.js';
import { silentLogger } from '../../shared/logger.js';
import { mintIdentity, tempDir, testCa } from '../helpers/pki.js';

describe('host revocation: denylist and CRL', function () {
  this.timeout(30_000);
  let dir: { path: string; cleanup(): Promise<void> };
  let ca: CertificateAuthority;
  let foreign: CertificateAuthority;

  before(async () => {
    dir = await tempDir('swarm-revocation-');
    ca = await testCa('test');
    // Same cluster name, other key: what an attacker who cannot sign with our CA would serve.
    foreign = CertificateAuthority.load(await createCa({ cluster: 'test' }));
  });
  after(async () => dir.cleanup());

  const open = (file?: string): Promise<HostRevocation> => HostRevocation.open({ cluster: 'test', caPem: ca.certPem, logger: silentLogger(), ...(file ? { file } : {}) });

  it('applies a CRL signed by the pinned CA', async () => {
    const r = await open();
    const id = await mintIdentity('operator', 'alice');
    const added = await r.applyCrl(await createCrl(ca, [{ serial: id.serial, revokedAt: Date.now() }], { number: 3 }));
    assert.deepEqual(added, [id.serial]);
    assert.ok(r.isRevoked(id.serial));
    assert.equal(r.crlNumber, 3);
  });

  it('ignores a CRL signed by another CA, even one with the same name', async () => {
    const r = await open();
    const id = await mintIdentity('operator', 'alice');
    await assert.rejects(r.applyCrl(await createCrl(foreign, [{ serial: id.serial, revokedAt: Date.now() }], { number: 9 })), { code: 'SWARM_ERR_CRL_INVALID' });
    assert.equal(r.isRevoked(id.serial), false);
    assert.equal(r.crlNumber, 0);
  });

  it('ignores a tampered CRL and one that is not PEM', async () => {
    const r = await open();
    const pem = await createCrl(ca, [{ serial: 'ab'.repeat(16), revokedAt: Date.now() }], { number: 2 });
    const der = Buffer.from(pem.replace(/-----[A-Z0-9 ]+-----|\s/g, ''), 'base64');
    der[der.length - 5]! ^= 0xff; // inside the signature
    const tampered = `-----BEGIN X509 CRL-----\n${der.toString('base64')}\n-----END X509 CRL-----\n`;
    await assert.rejects(r.applyCrl(tampered), { code: 'SWARM_ERR_CRL_INVALID' });
    await assert.rejects(r.applyCrl('{"code":"SWARM_ERR_INTERNAL"}'), { code: 'SWARM_ERR_CRL_INVALID' });
    assert.equal(r.size, 0);
  });

  it('refuses a CRL older than the one applied (a replay cannot shrink what is refused)', async () => {
    const r = await open();
    await r.applyCrl(await createCrl(ca, [], { number: 5 }));
    await assert.rejects(r.applyCrl(await createCrl(ca, [], { number: 4 })), { code: 'SWARM_ERR_CRL_STALE' });
    assert.equal(r.crlNumber, 5);
  });

  it('persists the list and the CRL number, and reloads them', async () => {
    const file = join(dir.path, 'revoked.json');
    const r = await open(file);
    await r.revoke(['0a1b'], 'channel');
    await r.applyCrl(await createCrl(ca, [{ serial: '4c'.repeat(16), revokedAt: Date.now() }], { number: 7 }));
    const again = await open(file);
    assert.ok(again.isRevoked('0a1b') && again.isRevoked('4c'.repeat(16)));
    assert.equal(again.crlNumber, 7);
    await writeFile(file, '{"serials": ["NOT HEX"]}');
    assert.equal((await open(file)).size, 0, 'an invalid file is replaced, not trusted');
    assert.match(await readFile(file, 'utf8'), /NOT HEX/);
  });
});
