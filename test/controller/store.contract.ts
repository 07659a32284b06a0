// The store contract: every engine must pass this suite (run it with a factory per engine).
import assert from 'node:assert/strict';
import type { Store } from '../../controller/store/index.js';

export interface StoreFactory {
  /** A fresh, empty store. */
  open(): Promise<Store>;
  /** Reopen the same data (durability), when the engine has any. */
  reopen?(): Promise<Store>;
  cleanup(): Promise<void>;
}

const T0 = 1_700_000_000_000;

export function storeContract(engine: string, makeFactory: () => StoreFactory): void {
  describe(`store contract: ${engine}`, () => {
    let factory: StoreFactory;
    let store: Store;
    beforeEach(async () => {
      factory = makeFactory();
      store = await factory.open();
    });
    afterEach(async () => {
      store.close();
      await factory.cleanup();
    });

    it('keeps hosts with labels, lists only active ones, and revives a removed name', () => {
      store.insertHost({ name: 'h2', address: '10.0.0.2:8766', labels: { site: 'b' }, createdAt: T0 });
      store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
      assert.deepEqual(store.listHosts().map((h) => h.name), ['h1', 'h2']);
      assert.deepEqual(store.getHost('h2'), { name: 'h2', address: '10.0.0.2:8766', labels: { site: 'b' }, createdAt: T0, enrolledAt: null, removedAt: null });
      store.setHostLabels('h2', { site: 'c', rack: '4' });
      assert.deepEqual(store.getHost('h2')?.labels, { site: 'c', rack: '4' });
      assert.throws(() => store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 }));
      store.markHostRemoved('h1', T0 + 5);
      assert.deepEqual(store.listHosts().map((h) => h.name), ['h2']);
      assert.equal(store.getHost('h1')?.removedAt, T0 + 5);
      store.reviveHost({ name: 'h1', address: 'x', labels: { a: '1' }, createdAt: T0 + 10 });
      assert.equal(store.getHost('h1')?.removedAt, null);
      assert.equal(store.getHost('h1')?.address, 'x');
      assert.equal(store.getHost('nope'), undefined);
    });

    it('consumes a join token once, and refuses unknown, expired, used and mismatched tokens', () => {
      store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
      store.insertHost({ name: 'h2', address: null, labels: {}, createdAt: T0 });
      store.insertJoinToken({ hash: 'a'.repeat(64), hostName: 'h1', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      store.insertJoinToken({ hash: 'b'.repeat(64), hostName: 'h2', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      assert.deepEqual(store.consumeJoinToken('c'.repeat(64), 'h1', T0), { ok: false, reason: 'unknown' });
      assert.deepEqual(store.consumeJoinToken('a'.repeat(64), 'h2', T0), { ok: false, reason: 'name-mismatch' });
      assert.deepEqual(store.consumeJoinToken('b'.repeat(64), 'h2', T0 + 1000), { ok: false, reason: 'expired' });
      assert.deepEqual(store.consumeJoinToken('a'.repeat(64), 'h1', T0 + 1), { ok: true });
      assert.equal(store.getHost('h1')?.enrolledAt, T0 + 1);
      assert.deepEqual(store.consumeJoinToken('a'.repeat(64), 'h1', T0 + 2), { ok: false, reason: 'used' });
    });

    it('refuses a token for a removed or already enrolled host, and drops unused tokens on request', () => {
      store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
      store.insertJoinToken({ hash: '1'.repeat(64), hostName: 'h1', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      store.insertJoinToken({ hash: '2'.repeat(64), hostName: 'h1', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      assert.deepEqual(store.consumeJoinToken('1'.repeat(64), 'h1', T0), { ok: true });
      assert.deepEqual(store.consumeJoinToken('2'.repeat(64), 'h1', T0), { ok: false, reason: 'host-enrolled' });
      store.insertHost({ name: 'h3', address: null, labels: {}, createdAt: T0 });
      store.insertJoinToken({ hash: '3'.repeat(64), hostName: 'h3', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      store.markHostRemoved('h3', T0);
      assert.deepEqual(store.consumeJoinToken('3'.repeat(64), 'h3', T0), { ok: false, reason: 'host-missing' });
      store.insertHost({ name: 'h4', address: null, labels: {}, createdAt: T0 });
      store.insertJoinToken({ hash: '4'.repeat(64), hostName: 'h4', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      assert.equal(store.deleteUnusedTokens('h4'), 1);
      assert.deepEqual(store.consumeJoinToken('4'.repeat(64), 'h4', T0), { ok: false, reason: 'unknown' });
    });

    it('lists pending tokens (unused, unexpired) without their secret, and changes a host address', () => {
      store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
      store.insertHost({ name: 'h2', address: null, labels: {}, createdAt: T0 });
      store.insertJoinToken({ hash: '5'.repeat(64), hostName: 'h1', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      store.insertJoinToken({ hash: '6'.repeat(64), hostName: 'h2', createdAt: T0 + 1, expiresAt: T0 + 10, usedAt: null });
      assert.deepEqual(store.listPendingTokens(T0), [{ hostName: 'h1', createdAt: T0, expiresAt: T0 + 1000 }, { hostName: 'h2', createdAt: T0 + 1, expiresAt: T0 + 10 }]);
      assert.deepEqual(store.listPendingTokens(T0 + 10).map((t) => t.hostName), ['h1']);
      assert.deepEqual(store.consumeJoinToken('5'.repeat(64), 'h1', T0), { ok: true });
      assert.deepEqual(store.listPendingTokens(T0), [{ hostName: 'h2', createdAt: T0 + 1, expiresAt: T0 + 10 }]);
      store.setHostAddress('h1', '10.0.0.1:8766');
      assert.equal(store.getHost('h1')?.address, '10.0.0.1:8766');
    });

    it('consumes a token atomically under concurrent attempts: exactly one wins', async () => {
      store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
      store.insertJoinToken({ hash: 'd'.repeat(64), hostName: 'h1', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      const results = await Promise.all(Array.from({ length: 20 }, async () => store.consumeJoinToken('d'.repeat(64), 'h1', T0)));
      assert.equal(results.filter((r) => r.ok).length, 1);
    });

    it('records certificates, revokes an identity, and lists revoked serials', () => {
      const base = { notBefore: T0, notAfter: T0 + 100, issuedAt: T0 };
      store.recordCertificate({ serial: '01', role: 'agent', name: 'h1', ...base });
      store.recordCertificate({ serial: '02', role: 'updater', name: 'h1', ...base });
      store.recordCertificate({ serial: '03', role: 'agent', name: 'h1', ...base, issuedAt: T0 + 1 });
      store.recordCertificate({ serial: '04', role: 'operator', name: 'alice', ...base });
      assert.deepEqual(store.listCertificates({ role: 'agent', name: 'h1' }).map((c) => c.serial), ['01', '03']);
      assert.deepEqual(store.listCertificates({ role: 'operator' }).map((c) => c.serial), ['04']);
      assert.equal(store.listCertificates().length, 4);
      assert.deepEqual(store.revokeIdentity('agent', 'h1', T0 + 50).sort(), ['01', '03']);
      assert.deepEqual(store.revokeIdentity('agent', 'h1', T0 + 60), [], 'already revoked');
      assert.equal(store.getCertificate('01')?.revokedAt, T0 + 50);
      assert.equal(store.getCertificate('02')?.revokedAt, null);
      assert.deepEqual(store.listRevoked(), [{ serial: '01', revokedAt: T0 + 50 }, { serial: '03', revokedAt: T0 + 50 }]);
      assert.throws(() => store.recordCertificate({ serial: '01', role: 'agent', name: 'h1', ...base }), 'serials are unique');
    });

    it('finds certificates by public key and revokes single serials once', () => {
      const base = { notBefore: T0, notAfter: T0 + 100, issuedAt: T0 };
      store.recordCertificate({ serial: '11', role: 'agent', name: 'h1', ...base, keySha256: 'a'.repeat(64) });
      store.recordCertificate({ serial: '12', role: 'updater', name: 'h1', ...base, keySha256: 'b'.repeat(64) });
      store.recordCertificate({ serial: '13', role: 'agent', name: 'h1', ...base });
      assert.deepEqual(store.findCertificatesByKey('a'.repeat(64)).map((c) => [c.serial, c.role, c.keySha256]), [['11', 'agent', 'a'.repeat(64)]]);
      assert.deepEqual(store.findCertificatesByKey('c'.repeat(64)), []);
      assert.equal(store.getCertificate('13')?.keySha256, null);
      assert.deepEqual(store.revokeSerials(['11', '13', 'ff'], T0 + 5), ['11', '13']);
      assert.deepEqual(store.revokeSerials(['11', '12'], T0 + 6), ['12'], 'a revoked serial keeps its first revocation time');
      assert.equal(store.getCertificate('11')?.revokedAt, T0 + 5);
    });

    it('saves the latest reports per host and forgets removed hosts', () => {
      store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
      store.insertHost({ name: 'h2', address: null, labels: {}, createdAt: T0 });
      const agent = { report: { status: 'ok', release: 'abc' }, at: T0 + 1, certNotAfter: T0 + 99 };
      store.saveReports([{ hostName: 'h1', lastContact: T0 + 1, agent, updater: null }]);
      store.saveReports([{ hostName: 'h1', lastContact: T0 + 2, agent, updater: { report: { status: 'ok' }, at: T0 + 2, certNotAfter: null } }]);
      store.saveReports([{ hostName: 'h2', lastContact: T0 + 3, agent: null, updater: null }]);
      const h1 = store.listReports().find((r) => r.hostName === 'h1');
      assert.deepEqual(h1, { hostName: 'h1', lastContact: T0 + 2, agent, updater: { report: { status: 'ok' }, at: T0 + 2, certNotAfter: null } });
      store.markHostRemoved('h2', T0 + 4);
      assert.deepEqual(store.listReports().map((r) => r.hostName), ['h1']);
      // A removed host's reports die with it: the name re-added is a new, silent host.
      store.reviveHost({ name: 'h2', address: null, labels: {}, createdAt: T0 + 5 });
      assert.deepEqual(store.listReports().map((r) => r.hostName), ['h1']);
    });

    it('appends audit entries in order and never changes them', () => {
      const a = store.appendAudit({ at: T0, actor: 'spiffe://c/operator/admin', action: 'host.add', target: 'h1', details: { labels: { a: '1' } } });
      const b = store.appendAudit({ at: T0 + 1, actor: 'spiffe://c/operator/admin', action: 'host.remove', target: 'h1', details: {} });
      assert.ok(b.id > a.id);
      assert.deepEqual(store.listAudit(), [a, b]);
      assert.deepEqual(store.listAudit({ afterId: a.id }), [b]);
      assert.deepEqual(store.listAudit({ limit: 1 }), [a]);
      // Newest first on request (what operators see by default), and a time floor.
      assert.deepEqual(store.listAudit({ order: 'desc', limit: 1 }), [b]);
      assert.deepEqual(store.listAudit({ order: 'desc' }), [b, a]);
      assert.deepEqual(store.listAudit({ sinceMs: b.at }), [b]);
      assert.deepEqual(store.listAudit({ sinceMs: b.at + 1 }), []);
    });

    it('counts monotonically', () => {
      assert.equal(store.nextCounter('crl'), 1);
      assert.equal(store.nextCounter('crl'), 2);
      assert.equal(store.nextCounter('other'), 1);
    });

    it('keeps everything across a reopen', async function () {
      if (!factory.reopen) this.skip();
      store.insertHost({ name: 'h1', address: null, labels: { k: 'v' }, createdAt: T0 });
      store.appendAudit({ at: T0, actor: 'a', action: 'x', target: 'h1', details: {} });
      store.close();
      store = await factory.reopen!();
      assert.deepEqual(store.getHost('h1')?.labels, { k: 'v' });
      assert.equal(store.listAudit().length, 1);
    });
  });
}
