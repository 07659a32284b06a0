// Renewal retires what it replaced and needs a key never certified before (in-process app, real TLS).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { createCsr, generateKeyPair, type KeyPairPem } from '../../pki/index.js';
import type { Role } from '../../shared/identity.js';
import { checkServerIdentity, checkTlsMaterial, type TlsMaterial } from '../../shared/tls.js';
import { describeForEachStoreEngine } from '../helpers/store-engines.js';
import { call, clientFor, enrollDirectly, startInProcessController, waitFor, type InProcessController } from './helpers.js';

const csrOf = (key: KeyPairPem, name: string): string => createCsr({ keyPem: key.privateKeyPem, publicKeyPem: key.publicKeyPem, commonName: name });

/** Open an agent channel with this identity; resolves with the welcome, or the HTTP status it was refused with. */
async function openChannel(url: string, client: TlsMaterial): Promise<{ ws?: WebSocket; status?: number }> {
  const ws = new WebSocket(`${url.replace('https', 'wss')}/v1/channel/agent`, {
    ca: client.ca, cert: client.cert, key: client.key,
    checkServerIdentity: (_h: string, cert: never) => checkServerIdentity(cert, 'test', { role: 'controller' }),
  } as unknown as WebSocket.ClientOptions);
  return new Promise((resolve, reject) => {
    ws.once('message', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

describeForEachStoreEngine('renewal: superseded certificates and fresh keys', function (engine) {
  this.timeout(30_000);
  let ctl: InProcessController;
  const keys: KeyPairPem[] = [];
  before(async () => {
    ctl = await startInProcessController({ supersededGraceMs: 50, store: await engine.openStore() });
    for (let i = 0; i < 6; i++) keys.push(await generateKeyPair());
  });
  after(async () => {
    await ctl?.close();
  });

  /** Issue an identity through the controller's issuer, as enrollment does (so its key is on record). */
  const issue = async (role: Role, name: string, key: KeyPairPem): Promise<TlsMaterial> => {
    const issued = await ctl.context.issuer.issue(role, name, key.publicKeyPem);
    return checkTlsMaterial({ ca: ctl.context.issuer.ca.certPem, cert: issued.certPem, key: key.privateKeyPem }, `${role}/${name}`, 'test');
  };

  async function renew(material: TlsMaterial, key: KeyPairPem): Promise<{ status: number; code?: string; next?: TlsMaterial }> {
    const d = clientFor(material.ca, material);
    try {
      const r = await call(d, `${ctl.url}/v1/pki/renew`, 'POST', { csr: csrOf(key, material.identity.name) });
      const next = r.status === 200 ? checkTlsMaterial({ ca: material.ca, cert: r.body.cert as string, key: key.privateKeyPem }, 'renewed', 'test') : undefined;
      return { status: r.status, ...(r.body.code ? { code: r.body.code } : {}), ...(next ? { next } : {}) };
    } finally {
      await d.close();
    }
  }

  it('refuses a renewal whose CSR carries the key of the host\'s other role, or a key this identity already had', async () => {
    await enrollDirectly(ctl.store, 'k1');
    await issue('agent', 'k1', keys[0]!);
    const updater = await issue('updater', 'k1', keys[1]!);
    const stolen = await renew(updater, keys[0]!);
    assert.equal(stolen.status, 400);
    assert.equal(stolen.code, 'SWARM_ERR_RENEW_KEY_IN_USE');
    const first = await renew(updater, keys[2]!);
    assert.equal(first.status, 200);
    // The same fresh key a second time (presenting the old certificate, still valid) is not fresh any more.
    const again = await renew(updater, keys[2]!);
    assert.equal(again.status, 400);
    assert.equal(again.code, 'SWARM_ERR_RENEW_KEY_REUSED');
  });

  it('retires the previous certificate once the renewed one is in use (after the grace), and never leaves more than two valid', async () => {
    await enrollDirectly(ctl.store, 'k2');
    const a0 = await issue('agent', 'k2', keys[3]!);
    const r1 = await renew(a0, keys[4]!);
    assert.equal(r1.status, 200);
    const a1 = r1.next!;
    // Until the renewed certificate is used, the old one still works: a lost answer can be retried.
    const old = await openChannel(ctl.url, a0);
    assert.ok(old.ws, 'the presenting certificate still opens a channel right after the renewal');
    const oldClosed = once(old.ws, 'close');
    // The host uses its new certificate: the old one is retired after the grace and its live channel is cut.
    const fresh = await openChannel(ctl.url, a1);
    assert.ok(fresh.ws);
    await oldClosed;
    await waitFor('the superseded certificate revoked', async () => ((await ctl.store.getCertificate(a0.serial))?.revokedAt != null ? true : undefined), 5000);
    assert.equal((await openChannel(ctl.url, a0)).status, 403, 'the superseded certificate opens no channel');
    const retry = await renew(a0, keys[5]!);
    assert.equal(retry.status, 403);
    assert.equal(retry.code, 'SWARM_ERR_AUTH_REVOKED');
    fresh.ws.terminate();

    // A stolen a1 renewing again and again: each renewal retires the one before; two valid at most.
    for (let i = 0; i < 3; i++) {
      const k = await generateKeyPair();
      assert.equal((await renew(a1, k)).status, 200);
    }
    const valid = (await ctl.store.listCertificates({ role: 'agent', name: 'k2' })).filter((c) => c.revokedAt === null);
    assert.equal(valid.length, 2, `valid: ${valid.map((c) => c.serial).join(', ')}`);
    assert.ok(valid.some((c) => c.serial === a1.serial), 'the presenting certificate is one of them');
    assert.ok((await ctl.store.listAudit()).some((e) => e.action === 'certificate.supersede'), 'retirements are audited');
  });
});
