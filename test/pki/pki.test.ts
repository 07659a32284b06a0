// The PKI: CA properties, CSR proof of possession, issuance decided by the controller, identities, CRLs, checked by OpenSSL.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import forge from 'node-forge';
import {
  CertificateAuthority, createCrl, createCsr, describeCertificate, fingerprintOf, generateKeyPair, identityFromCertificate,
  matchesCaHash, parseCaHash, verifyCsr,
} from '../../pki/index.js';
import { testCa, testKey, tempDir } from '../helpers/pki.js';

function openssl(args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('pki', function () {
  this.timeout(60_000);
  let ca: CertificateAuthority;
  let dir: { path: string; cleanup: () => Promise<void> };

  before(async () => {
    ca = await testCa('test');
    dir = await tempDir();
  });
  after(() => dir.cleanup());

  describe('cluster CA', () => {
    it('is RSA >= 3072, 10 years, CA:true pathlen 0, keyCertSign+cRLSign, SKI/AKI, names its cluster', () => {
      const cert = forge.pki.certificateFromPem(ca.certPem);
      assert.ok((cert.publicKey as forge.pki.rsa.PublicKey).n.bitLength() >= 3072);
      const years = (cert.validity.notAfter.getTime() - cert.validity.notBefore.getTime()) / (365.25 * 86_400_000);
      assert.ok(years >= 9.99 && years <= 10.01, `validity ${years} years`);
      const bc = cert.getExtension('basicConstraints') as { cA: boolean; pathLenConstraint: number; critical: boolean };
      assert.equal(bc.cA, true);
      assert.equal(bc.pathLenConstraint, 0);
      assert.equal(bc.critical, true);
      const ku = cert.getExtension('keyUsage') as { keyCertSign: boolean; cRLSign: boolean; digitalSignature?: boolean };
      assert.equal(ku.keyCertSign, true);
      assert.equal(ku.cRLSign, true);
      assert.ok(cert.getExtension('subjectKeyIdentifier'));
      assert.ok(cert.getExtension('authorityKeyIdentifier'));
      assert.equal(ca.cluster, 'test');
      assert.equal(new X509Certificate(ca.certPem).verify(new X509Certificate(ca.certPem).publicKey), true, 'self-signed');
    });

    it('refuses a key that does not match', async () => {
      const other = await generateKeyPair();
      assert.throws(() => CertificateAuthority.load({ certPem: ca.certPem, keyPem: other.privateKeyPem }), { code: 'SWARM_ERR_CA_INVALID' });
    });
  });

  describe('CSR and issuance', () => {
    it('a CSR made on the host passes openssl req -verify and our native check', async () => {
      const key = await testKey();
      const csr = createCsr({ keyPem: key.privateKeyPem, publicKeyPem: key.publicKeyPem, commonName: 'h1' });
      const path = join(dir.path, 'h1.csr');
      await writeFile(path, csr);
      openssl(['req', '-verify', '-noout', '-in', path]);
      const v = verifyCsr(csr);
      assert.equal(v.commonName, 'h1');
      assert.equal(v.keyBits, 2048);
    });

    it('refuses a CSR whose signature does not verify (no proof of possession)', async () => {
      const key = await testKey();
      const other = await generateKeyPair();
      const csrPem = createCsr({ keyPem: key.privateKeyPem, publicKeyPem: key.publicKeyPem, commonName: 'h1' });
      // Swap in another public key: the signature no longer matches the key the CSR carries.
      const csr = forge.pki.certificationRequestFromPem(csrPem);
      csr.publicKey = forge.pki.publicKeyFromPem(other.publicKeyPem);
      (csr as unknown as { certificationRequestInfo: unknown }).certificationRequestInfo = undefined;
      const forged = forge.pki.certificationRequestToPem(csr);
      assert.throws(() => verifyCsr(forged), { code: 'SWARM_ERR_CSR_SIGNATURE' });
    });

    it('refuses garbage, oversize and weak-key CSRs', async () => {
      assert.throws(() => verifyCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n'), { code: 'SWARM_ERR_CSR_INVALID' });
      assert.throws(() => verifyCsr('x'.repeat(20_000)), { code: 'SWARM_ERR_CSR_TOO_LARGE' });
      const weak = await generateKeyPair(1024);
      const csr = createCsr({ keyPem: weak.privateKeyPem, publicKeyPem: weak.publicKeyPem, commonName: 'h1' });
      assert.throws(() => verifyCsr(csr), { code: 'SWARM_ERR_CSR_WEAK_KEY' });
    });

    it('issues from the controller\'s decision only: extensions asked for in the CSR are ignored', async () => {
      const key = await testKey();
      const csr = forge.pki.createCertificationRequest();
      csr.publicKey = forge.pki.publicKeyFromPem(key.publicKeyPem);
      csr.setSubject([{ shortName: 'CN', value: 'admin' }]);
      csr.setAttributes([{ name: 'extensionRequest', extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'subjectAltName', altNames: [{ type: 6, value: 'spiffe://test/operator/admin' }] },
      ] }]);
      csr.sign(forge.pki.privateKeyFromPem(key.privateKeyPem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
      const verified = verifyCsr(forge.pki.certificationRequestToPem(csr));
      const issued = ca.issue({ publicKeyPem: verified.publicKeyPem, identity: { cluster: 'test', role: 'agent', name: 'h1' } });
      const x = new X509Certificate(issued.certPem);
      assert.equal(x.subjectAltName, 'URI:spiffe://test/agent/h1');
      assert.equal(x.ca, false);
      assert.deepEqual(identityFromCertificate(issued.certPem, 'test'), { cluster: 'test', role: 'agent', name: 'h1' });
    });

    it('issues certificates that pass openssl verify, with a random 128-bit serial, backdated notBefore, SHA-256', async () => {
      const key = await testKey();
      const now = Date.now();
      const issued = ca.issue({ publicKeyPem: key.publicKeyPem, identity: { cluster: 'test', role: 'updater', name: 'h1' }, now, lifetimeMs: 3_600_000 });
      const caPath = join(dir.path, 'ca.crt');
      const leafPath = join(dir.path, 'leaf.crt');
      await writeFile(caPath, ca.certPem);
      await writeFile(leafPath, issued.certPem);
      assert.match(openssl(['verify', '-CAfile', caPath, leafPath]), /OK/);
      assert.match(openssl(['verify', '-CAfile', caPath, '-purpose', 'sslserver', leafPath]), /OK/);
      assert.match(openssl(['verify', '-CAfile', caPath, '-purpose', 'sslclient', leafPath]), /OK/);
      const text = openssl(['x509', '-noout', '-text', '-in', leafPath]);
      assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
      assert.match(issued.serial, /^[4-7][0-9a-f]{31}$/);
      const info = describeCertificate(issued.certPem);
      assert.ok(now - info.notBefore >= 5 * 60_000 - 1000 && now - info.notBefore <= 5 * 60_000 + 1000, 'notBefore backdated 5 minutes');
      assert.ok(Math.abs(info.notAfter - (now + 3_600_000)) <= 1000, 'configured lifetime');
      const serials = new Set(Array.from({ length: 50 }, () => ca.issue({ publicKeyPem: key.publicKeyPem, identity: { cluster: 'test', role: 'agent', name: 'h1' } }).serial));
      assert.equal(serials.size, 50);
    });

    it('gives operators clientAuth only, other roles serverAuth and clientAuth', async () => {
      const key = await testKey();
      const op = ca.issue({ publicKeyPem: key.publicKeyPem, identity: { cluster: 'test', role: 'operator', name: 'alice' } });
      await writeFile(join(dir.path, 'op.crt'), op.certPem);
      assert.throws(() => openssl(['verify', '-CAfile', join(dir.path, 'ca.crt'), '-purpose', 'sslserver', join(dir.path, 'op.crt')]));
    });

    it('refuses to issue for another cluster', async () => {
      const key = await testKey();
      assert.throws(() => ca.issue({ publicKeyPem: key.publicKeyPem, identity: { cluster: 'other', role: 'agent', name: 'h1' } }), { code: 'SWARM_ERR_CA_INVALID' });
    });
  });

  describe('identities from certificates', () => {
    async function certWithSans(altNames: Array<{ type: number; value: string }>): Promise<string> {
      const key = await testKey();
      const cert = forge.pki.createCertificate();
      cert.publicKey = forge.pki.publicKeyFromPem(key.publicKeyPem);
      cert.serialNumber = '01';
      cert.validity.notBefore = new Date(Date.now() - 60_000);
      cert.validity.notAfter = new Date(Date.now() + 3_600_000);
      cert.setSubject([{ shortName: 'CN', value: 'spiffe://test/operator/admin' }]);
      cert.setIssuer([{ shortName: 'CN', value: 'x' }]);
      if (altNames.length) cert.setExtensions([{ name: 'subjectAltName', altNames }]);
      cert.sign(forge.pki.privateKeyFromPem(key.privateKeyPem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
      return forge.pki.certificateToPem(cert);
    }

    it('refuses no URI SAN (whatever the CN says), several, malformed, and another cluster', async () => {
      await assert.rejects(async () => identityFromCertificate(await certWithSans([])), { code: 'SWARM_ERR_IDENTITY_INVALID' });
      await assert.rejects(async () => identityFromCertificate(await certWithSans([{ type: 2, value: 'h1' }])), { code: 'SWARM_ERR_IDENTITY_INVALID' });
      await assert.rejects(
        async () => identityFromCertificate(await certWithSans([{ type: 6, value: 'spiffe://test/agent/h1' }, { type: 6, value: 'spiffe://test/operator/admin' }])),
        { code: 'SWARM_ERR_IDENTITY_INVALID' },
      );
      for (const bad of ['spiffe://test/root/h1', 'spiffe://test/agent/H1', 'spiffe://test/agent/h1/x', 'https://test/agent/h1', 'spiffe://test/agent/h%2C1']) {
        await assert.rejects(async () => identityFromCertificate(await certWithSans([{ type: 6, value: bad }])), { code: 'SWARM_ERR_IDENTITY_INVALID' }, bad);
      }
      const good = await certWithSans([{ type: 6, value: 'spiffe://other/agent/h1' }, { type: 2, value: 'h1.example' }]);
      assert.deepEqual(identityFromCertificate(good), { cluster: 'other', role: 'agent', name: 'h1' });
      assert.throws(() => identityFromCertificate(good, 'test'), { code: 'SWARM_ERR_IDENTITY_INVALID' });
    });
  });

  describe('fingerprints', () => {
    it('are sha256:<hex> of the DER and pin the CA', async () => {
      const fp = fingerprintOf(ca.certPem);
      const caPath = join(dir.path, 'fp-ca.crt');
      await writeFile(caPath, ca.certPem);
      const viaOpenssl = openssl(['x509', '-noout', '-fingerprint', '-sha256', '-in', caPath]).split('=')[1]!.trim().replace(/:/g, '').toLowerCase();
      assert.equal(fp, `sha256:${viaOpenssl}`);
      assert.equal(matchesCaHash(ca.certPem, fp.toUpperCase().replace('SHA256', 'sha256')), true);
      const other = await testCa('other');
      assert.equal(matchesCaHash(other.certPem, fp), false);
      assert.throws(() => parseCaHash('sha1:abcd'), { code: 'SWARM_ERR_CA_HASH_INVALID' });
    });
  });

  describe('revocation lists', () => {
    it('pass openssl crl -verify and make openssl refuse the revoked leaf', async () => {
      const key = await testKey();
      const revoked = ca.issue({ publicKeyPem: key.publicKeyPem, identity: { cluster: 'test', role: 'agent', name: 'gone' } });
      const kept = ca.issue({ publicKeyPem: key.publicKeyPem, identity: { cluster: 'test', role: 'agent', name: 'kept' } });
      const crl = await createCrl(ca, [{ serial: revoked.serial, revokedAt: Date.now() }], { number: 7 });
      assert.match(crl, /^-----BEGIN X509 CRL-----/);
      const p = (n: string): string => join(dir.path, n);
      await writeFile(p('crl.pem'), crl);
      await writeFile(p('ca.crt'), ca.certPem);
      await writeFile(p('revoked.crt'), revoked.certPem);
      await writeFile(p('kept.crt'), kept.certPem);
      openssl(['crl', '-verify', '-noout', '-CAfile', p('ca.crt'), '-in', p('crl.pem')]);
      const text = openssl(['crl', '-noout', '-text', '-in', p('crl.pem')]);
      assert.match(text, new RegExp(revoked.serial.toUpperCase()));
      assert.match(text, /CRL Number:\s*\n\s*7/);
      assert.throws(() => openssl(['verify', '-crl_check', '-CRLfile', p('crl.pem'), '-CAfile', p('ca.crt'), p('revoked.crt')]), /revoked/);
      assert.match(openssl(['verify', '-crl_check', '-CRLfile', p('crl.pem'), '-CAfile', p('ca.crt'), p('kept.crt')]), /OK/);
    });
  });
});
