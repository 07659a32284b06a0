// verifyCrl, what every host runs on the CRL it fetches at start: it reads the DER itself (no certificate library
// loaded), agrees with @peculiar/x509 on what the controller writes, and refuses what the pinned CA did not say.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, webcrypto } from 'node:crypto';
import { join } from 'node:path';
import { CertificateAuthority, createCa, createCrl, verifyCrl } from '../../pki/index.js';
import { loadX509 } from '../../pki/crl.js';
import { BUILD_ROOT } from '../controller/helpers.js';

describe('pki: verifyCrl (hosts)', function () {
  this.timeout(60_000);
  let ca: CertificateAuthority;

  before(async () => {
    ca = CertificateAuthority.load(await createCa({ cluster: 'test' }));
  });

  /** A CRL signed with the CA's key but written freely (issuer, extensions), as a bug or a forger with the key would. */
  async function crlSignedBy(options: { issuer: string; numberExtension: boolean }): Promise<string> {
    const { Extension, X509CrlGenerator } = await loadX509();
    const der = createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'der' });
    const signingKey = await webcrypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
    const crl = await X509CrlGenerator.create({
      issuer: options.issuer,
      thisUpdate: new Date(),
      nextUpdate: new Date(Date.now() + 86_400_000),
      signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      signingKey: signingKey as never,
      extensions: options.numberExtension ? [new Extension('2.5.29.20', false, Buffer.from([0x02, 0x01, 0x05]))] : [],
      entries: [],
    });
    return `-----BEGIN X509 CRL-----\n${Buffer.from(crl.rawData).toString('base64')}\n-----END X509 CRL-----\n`;
  }

  it('reads what the controller writes as @peculiar/x509 does: number, serials (sign byte dropped), thisUpdate', async () => {
    const serials = ['ff'.repeat(16), '01'.repeat(16), '7f'.repeat(16), '80'];
    const thisUpdate = Date.UTC(2026, 11, 1, 12, 30, 15);
    const pem = await createCrl(ca, serials.map((serial) => ({ serial, revokedAt: thisUpdate - 1000 })), { number: 70_000, thisUpdate });
    const mine = await verifyCrl(pem, ca.certPem);
    const { X509Crl } = await loadX509();
    const theirs = new X509Crl(pem);
    assert.deepEqual(mine, { number: 70_000, serials, thisUpdate });
    assert.deepEqual(mine.serials, theirs.entries.map((e) => e.serialNumber.toLowerCase().replace(/^(00)+(?=..)/, '')));
    assert.equal(mine.thisUpdate, theirs.thisUpdate.getTime());
    assert.deepEqual(await verifyCrl(await createCrl(ca, [], { number: 1 }), ca.certPem).then((c) => [c.number, c.serials]), [1, []]);
  });

  it('refuses a CRL the CA key signed under another issuer name, and one without a CRL number', async () => {
    await assert.rejects(verifyCrl(await crlSignedBy({ issuer: 'CN=not the cluster CA', numberExtension: true }), ca.certPem), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SWARM_ERR_CRL_INVALID');
      assert.match(err.message, /its issuer is not the cluster CA/);
      return true;
    });
    const { X509Certificate } = await loadX509();
    await assert.rejects(verifyCrl(await crlSignedBy({ issuer: new X509Certificate(ca.certPem).subject, numberExtension: false }), ca.certPem), /it has no CRL number/);
  });

  it('refuses bytes appended to the signed list, and a truncated one', async () => {
    const pem = await createCrl(ca, [{ serial: 'ab'.repeat(16), revokedAt: Date.now() }], { number: 2 });
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const wrap = (b: Buffer): string => `-----BEGIN X509 CRL-----\n${b.toString('base64')}\n-----END X509 CRL-----\n`;
    await assert.rejects(verifyCrl(wrap(Buffer.concat([der, Buffer.from([0x05, 0x00])])), ca.certPem), { code: 'SWARM_ERR_CRL_INVALID' });
    await assert.rejects(verifyCrl(wrap(der.subarray(0, der.length - 10)), ca.certPem), { code: 'SWARM_ERR_CRL_INVALID' });
  });

  it('loads no certificate library: a host verifying the CRL at start does not pay for @peculiar/x509', async () => {
    const pem = await createCrl(ca, [{ serial: 'cd'.repeat(16), revokedAt: Date.now() }], { number: 4 });
    const script = `import(${JSON.stringify(join(BUILD_ROOT, 'pki', 'verify.js'))}).then(async (m) => {
      const crl = await m.verifyCrl(process.env.CRL, process.env.CA);
      const loaded = Object.keys(require('node:module')._cache).filter((k) => /@peculiar|reflect-metadata|node-forge/.test(k));
      process.stdout.write(JSON.stringify({ number: crl.number, loaded }));
    });`;
    const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, CRL: pem, CA: ca.certPem }, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { number: 4, loaded: [] });
  });
});
