// A process trusts exactly one CA: every loader of ca.crt (hosts, operators, the controller's state dir) refuses a bundle or extra data.
import assert from 'node:assert/strict';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CertificateAuthority, createCa, writeIdentityFiles } from '../../pki/index.js';
import { parseSingleCertificate } from '../../shared/pem.js';
import { loadTlsMaterial } from '../../shared/tls.js';
import { mintIdentity, tempDir, testCa } from '../helpers/pki.js';

describe('ca.crt holds exactly one certificate', function () {
  this.timeout(30_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  let attackerCaPem: string;
  before(async () => {
    attackerCaPem = (await createCa({ cluster: 'test' })).certPem;
  });
  beforeEach(async () => {
    dir = await tempDir('swarm-ca-single-');
  });
  afterEach(() => dir.cleanup());

  const writeAgent = async (): Promise<string> => {
    const id = await mintIdentity('agent', 'h1');
    const pki = join(dir.path, 'pki');
    await writeIdentityFiles(pki, 'agent', { caPem: id.ca, certPem: id.cert, keyPem: id.key });
    return pki;
  };

  it('loadTlsMaterial refuses a ca.crt with the cluster CA followed by a second CA', async () => {
    const pki = await writeAgent();
    await loadTlsMaterial(pki, 'agent', 'test');
    await appendFile(join(pki, 'ca.crt'), attackerCaPem);
    await assert.rejects(loadTlsMaterial(pki, 'agent', 'test'), (err: Error & { code?: string }) =>
      err.code === 'SWARM_ERR_TLS_CA_BUNDLE' && /2 PEM blocks/.test(err.message) && /re-enroll/.test(err.message));
  });

  it('loadTlsMaterial refuses a ca.crt with data after the certificate, and accepts surrounding whitespace', async () => {
    const pki = await writeAgent();
    const ca = (await testCa('test')).certPem;
    await writeFile(join(pki, 'ca.crt'), `\n\n${ca}\n\n`);
    await loadTlsMaterial(pki, 'agent', 'test');
    await writeFile(join(pki, 'ca.crt'), `${ca}\nnot a certificate\n`);
    await assert.rejects(loadTlsMaterial(pki, 'agent', 'test'), { code: 'SWARM_ERR_TLS_CA_BUNDLE' });
    await writeFile(join(pki, 'ca.crt'), ca.replace('-----BEGIN CERTIFICATE-----', '-----BEGIN TRUSTED CERTIFICATE-----').replace('-----END CERTIFICATE-----', '-----END TRUSTED CERTIFICATE-----'));
    await assert.rejects(loadTlsMaterial(pki, 'agent', 'test'), { code: 'SWARM_ERR_TLS_CA_BUNDLE' });
  });

  it('the controller refuses a CA file that is a bundle (it would serve and trust both)', async () => {
    const pem = await createCa({ cluster: 'test' });
    CertificateAuthority.load(pem);
    assert.throws(() => CertificateAuthority.load({ certPem: pem.certPem + attackerCaPem, keyPem: pem.keyPem }), (err: Error & { code?: string }) =>
      err.code === 'SWARM_ERR_CA_INVALID' && /bundle/.test(err.message));
  });

  it('parseSingleCertificate gives the DER a pin hashes and a canonical PEM, and refuses bytes hidden in the block', async () => {
    const ca = (await testCa('test')).certPem;
    const r = parseSingleCertificate(ca);
    assert.ok(r.ok);
    assert.equal(parseSingleCertificate(r.cert.pem).ok, true);
    const b64 = Buffer.concat([r.cert.der, Buffer.from([0x30, 0x00])]).toString('base64').match(/.{1,64}/g)!.join('\n');
    const padded = parseSingleCertificate(`-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`);
    assert.ok(!padded.ok && /extra bytes/.test(padded.reason), JSON.stringify(padded));
    assert.equal(parseSingleCertificate('').ok, false);
  });
});
