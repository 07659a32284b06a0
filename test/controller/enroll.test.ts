// Enrollment refuses each bad input, without telling which token check failed; join pins the CA by its hash.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { createCsr, fingerprintOf, generateKeyPair } from '../../pki/index.js';
import { joinCluster } from '../../updater/join.js';
import { hashJoinToken } from '../../controller/tokens.js';
import { mintIdentity, tempDir, testKey } from '../helpers/pki.js';
import { describeForEachStoreEngine } from '../helpers/store-engines.js';
import { call, clientFor, startInProcessController, type InProcessController } from './helpers.js';

describeForEachStoreEngine('enrollment (in-process app, real TLS)', (engine) => {
  let ctl: InProcessController;
  let ca: string;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let csrs: { updaterCsr: string; agentCsr: string };
  let opsDispatcher: ReturnType<typeof clientFor>;
  const anon = () => clientFor(ca);

  before(async () => {
    ctl = await startInProcessController({ enrollLimits: { max: 1000, windowMs: 60_000 }, store: await engine.openStore() });
    ca = ctl.context.issuer.ca.certPem;
    dir = await tempDir('swarm-enroll-');
    const [k1, k2] = await Promise.all([generateKeyPair(), generateKeyPair()]);
    csrs = {
      updaterCsr: createCsr({ keyPem: k1.privateKeyPem, publicKeyPem: k1.publicKeyPem, commonName: 'x' }),
      agentCsr: createCsr({ keyPem: k2.privateKeyPem, publicKeyPem: k2.publicKeyPem, commonName: 'x' }),
    };
    const op = await mintIdentity('operator', 'ops');
    opsDispatcher = clientFor(ca, op.material);
  });
  after(async () => {
    await opsDispatcher.close();
    await ctl?.close();
    await dir?.cleanup();
  });

  const addHost = async (name: string): Promise<{ token: string; caHash: string }> => {
    const r = await call(opsDispatcher, `${ctl.url}/v1/hosts`, 'POST', { name });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body as unknown as { token: string; caHash: string };
  };
  const enroll = async (body: Record<string, unknown>) => {
    const d = anon();
    try {
      return await call(d, `${ctl.url}/v1/enroll`, 'POST', { ...csrs, ...body });
    } finally {
      await d.close();
    }
  };

  it('joinCluster enrolls once and writes the PKI directory; the host learns its name from the token', async () => {
    const { token, caHash } = await addHost('e1');
    assert.equal(caHash, fingerprintOf(ca));
    const pki = join(dir.path, 'e1');
    assert.deepEqual(await joinCluster({ controllerUrl: ctl.url, token, caHash, pkiDir: pki }), { cluster: 'test', name: 'e1' });
    for (const f of ['ca.crt', 'updater.crt', 'updater.key', 'agent.crt', 'agent.key']) assert.ok(existsSync(join(pki, f)));
    const certs = (await ctl.store.listCertificates({ name: 'e1' })).map((c) => c.role).sort();
    assert.deepEqual(certs, ['agent', 'updater']);
    // Refuses to overwrite an enrolled directory.
    const second = await addHost('e1b');
    await assert.rejects(joinCluster({ controllerUrl: ctl.url, token: second.token, caHash, pkiDir: pki }), /SWARM_ERR_PKI_EXISTS|already exists/);
  });

  it('refuses unknown, expired, used and mismatched tokens, reserved and taken names, all with one generic answer', async () => {
    const refusals: Array<[string, { status: number; body: { code?: string; message?: string } }]> = [];
    // unknown
    refusals.push(['unknown', await enroll({ name: 'u1', token: `u1.${'A'.repeat(43)}` })]);
    // malformed
    refusals.push(['malformed', await enroll({ name: 'u1', token: 'garbage' })]);
    // used
    const used = await addHost('used1');
    assert.equal((await enroll({ name: 'used1', token: used.token })).status, 200);
    refusals.push(['used', await enroll({ name: 'used1', token: used.token })]);
    // expired
    const exp = await addHost('exp1');
    await ctl.store.deleteUnusedTokens('exp1');
    await ctl.store.insertJoinToken({ hash: hashJoinToken(exp.token), hostName: 'exp1', createdAt: 0, expiresAt: Date.now() - 1, usedAt: null });
    refusals.push(['expired', await enroll({ name: 'exp1', token: exp.token })]);
    // name mismatch: a valid token of another host
    const other = await addHost('mm1');
    await addHost('mm2');
    refusals.push(['name mismatch', await enroll({ name: 'mm2', token: other.token })]);
    // reserved name (a token that could only come from a bypass of host add)
    await ctl.store.insertHost({ name: 'admin', address: null, labels: {}, createdAt: Date.now() });
    const reservedToken = `admin.${'B'.repeat(43)}`;
    await ctl.store.insertJoinToken({ hash: hashJoinToken(reservedToken), hostName: 'admin', createdAt: 0, expiresAt: Date.now() + 60_000, usedAt: null });
    refusals.push(['reserved', await enroll({ name: 'admin', token: reservedToken })]);
    // taken: the host is already enrolled
    const takenToken = `used1.${'C'.repeat(43)}`;
    await ctl.store.insertJoinToken({ hash: hashJoinToken(takenToken), hostName: 'used1', createdAt: 0, expiresAt: Date.now() + 60_000, usedAt: null });
    refusals.push(['taken', await enroll({ name: 'used1', token: takenToken })]);

    const first = refusals[0]![1];
    for (const [what, r] of refusals) {
      assert.equal(r.status, 403, what);
      assert.equal(r.body.code, 'SWARM_ERR_ENROLL_REFUSED', what);
      assert.equal(r.body.message, first.body.message, `${what} answers exactly like the others`);
    }
    assert.match(first.body.message!, /swarmctl host add/);
    // The mismatched token was not burnt by the failed attempt.
    assert.equal((await enroll({ name: 'mm1', token: other.token })).status, 200);
  });

  it('refuses oversized, badly signed and duplicate-key CSRs', async () => {
    const { token } = await addHost('c1');
    const big = await enroll({ name: 'c1', token, updaterCsr: `-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(20_000)}\n-----END CERTIFICATE REQUEST-----\n` });
    assert.equal(big.status, 413);
    assert.equal(big.body.code, 'SWARM_ERR_CSR_TOO_LARGE');
    // Sign with one key, claim another: the proof of possession fails.
    const shared = await testKey();
    const csr = forge.pki.certificationRequestFromPem(csrs.updaterCsr);
    csr.publicKey = forge.pki.publicKeyFromPem(shared.publicKeyPem);
    (csr as unknown as { certificationRequestInfo: unknown }).certificationRequestInfo = null; // re-encode with the swapped key, old signature
    const forged = forge.pki.certificationRequestToPem(csr);
    const bad = await enroll({ name: 'c1', token, updaterCsr: forged });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'SWARM_ERR_CSR_SIGNATURE');
    const garbage = await enroll({ name: 'c1', token, agentCsr: 'not a csr' });
    assert.equal(garbage.body.code, 'SWARM_ERR_CSR_INVALID');
    const same = await enroll({ name: 'c1', token, agentCsr: csrs.updaterCsr });
    assert.equal(same.body.code, 'SWARM_ERR_CSR_INVALID');
    // None of these consumed the token.
    assert.equal((await enroll({ name: 'c1', token })).status, 200);
  });

  it('the client refuses a CA hash mismatch and writes nothing', async () => {
    const { token } = await addHost('p1');
    const pki = join(dir.path, 'p1');
    await assert.rejects(joinCluster({ controllerUrl: ctl.url, token, caHash: `sha256:${'0'.repeat(64)}`, pkiDir: pki }), (err: Error & { code?: string }) => err.code === 'SWARM_ERR_CA_HASH_MISMATCH');
    assert.ok(!existsSync(join(pki, 'agent.key')));
    // The token is still good for the real controller.
    await joinCluster({ controllerUrl: ctl.url, token, caHash: fingerprintOf(ca), pkiDir: pki });
  });

  it('rate-limits enrollment attempts per client IP', async () => {
    const limited = await startInProcessController({ enrollLimits: { max: 3, windowMs: 60_000 } });
    try {
      const d = clientFor(limited.context.issuer.ca.certPem);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await call(d, `${limited.url}/v1/enroll`, 'POST', { ...csrs, name: 'z1', token: `z1.${'A'.repeat(43)}` })).status);
      assert.deepEqual(statuses, [403, 403, 403, 429, 429]);
      const r = await call(d, `${limited.url}/v1/enroll`, 'POST', {});
      assert.equal(r.body.code, 'SWARM_ERR_RATE_LIMITED');
      await d.close();
    } finally {
      await limited.close();
    }
  });
});
