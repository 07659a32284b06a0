// PKI benchmark: CSR signatures per second (verify + issue, native signing) and key generation time, vs forge's own signing.
import { performance } from 'node:perf_hooks';
import forge from 'node-forge';
import { CertificateAuthority, createCa, createCsr, generateKeyPair, verifyCsr } from '../pki/index.js';

function parseArgs(args: string[]): { seconds: number } {
  const i = args.indexOf('--seconds');
  const seconds = i >= 0 ? Number(args[i + 1]) : 3;
  if (!(seconds > 0 && seconds <= 60)) throw new Error('--seconds must be between 0 and 60');
  return { seconds };
}

async function timeKeygen(bits: number, n: number): Promise<{ bits: number; meanMs: number; maxMs: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await generateKeyPair(bits);
    times.push(performance.now() - t);
  }
  return { bits, meanMs: round(times.reduce((a, b) => a + b, 0) / n), maxMs: round(Math.max(...times)) };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const { seconds } = parseArgs(args);
  const t0 = performance.now();
  const ca = CertificateAuthority.load(await createCa({ cluster: 'bench' }));
  const caCreateMs = performance.now() - t0;
  const key = await generateKeyPair();
  const csr = createCsr({ keyPem: key.privateKeyPem, publicKeyPem: key.publicKeyPem, commonName: 'h1' });

  // Warm up, then sign CSRs back to back on this one thread for `seconds`.
  for (let i = 0; i < 20; i++) ca.issue({ publicKeyPem: verifyCsr(csr).publicKeyPem, identity: { cluster: 'bench', role: 'agent', name: 'h1' } });
  let signed = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline && signed < 1_000_000) {
    const v = verifyCsr(csr);
    ca.issue({ publicKeyPem: v.publicKeyPem, identity: { cluster: 'bench', role: 'agent', name: `h${signed % 1000}` } });
    signed++;
  }
  const elapsed = (performance.now() - start) / 1000;

  // forge's pure-JS signing of the same certificate with the same 3072-bit CA key, for reference.
  const forgeKey = forge.pki.privateKeyFromPem(ca.keyPem) as forge.pki.rsa.PrivateKey;
  const forgeN = 10;
  const f0 = performance.now();
  for (let i = 0; i < forgeN; i++) {
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(key.publicKeyPem);
    cert.serialNumber = '01';
    cert.validity.notBefore = new Date();
    cert.validity.notAfter = new Date(Date.now() + 86_400_000);
    cert.setSubject([{ shortName: 'CN', value: 'h1' }]);
    cert.setIssuer([{ shortName: 'CN', value: 'ca' }]);
    cert.sign(forgeKey, forge.md.sha256.create());
  }
  const forgePerSec = forgeN / ((performance.now() - f0) / 1000);

  return {
    benchmark: 'pki',
    caKeyBits: 3072,
    csrSignaturesPerSecond: round(signed / elapsed),
    csrSignaturesTarget: 150,
    meetsTarget: signed / elapsed >= 150,
    signed,
    seconds: round(elapsed),
    forgeSignaturesPerSecond: round(forgePerSec),
    caCreateMs: round(caCreateMs),
    keyGeneration: [await timeKeygen(2048, 10), await timeKeygen(3072, 3)],
    node: process.version,
  };
}
