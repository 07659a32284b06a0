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

    it('registers a host with its token atomically: refuses an enrolled name, reopens a pending or removed one', () => {
      const token = (hash: string, hostName: string) => ({ hash: hash.repeat(64), hostName, createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      assert.deepEqual(store.registerHost({ name: 'h1', address: null, labels: { a: '1' }, createdAt: T0 }, token('1', 'h1')), { ok: true });
      assert.deepEqual(store.listPendingTokens(T0).map((t) => t.hostName), ['h1']);
      // Pending: a new add replaces the old token.
      assert.deepEqual(store.registerHost({ name: 'h1', address: 'x:1', labels: {}, createdAt: T0 + 1 }, token('2', 'h1')), { ok: true });
      assert.deepEqual(store.consumeJoinToken('1'.repeat(64), 'h1', T0 + 2), { ok: false, reason: 'unknown' });
      assert.equal(store.getHost('h1')?.address, 'x:1');
      assert.deepEqual(store.consumeJoinToken('2'.repeat(64), 'h1', T0 + 2), { ok: true });
      assert.deepEqual(store.registerHost({ name: 'h1', address: null, labels: {}, createdAt: T0 + 3 }, token('3', 'h1')), { ok: false, reason: 'host-enrolled' });
      assert.equal(store.getHost('h1')?.enrolledAt, T0 + 2, 'a refused add changes nothing');
      assert.deepEqual(store.consumeJoinToken('3'.repeat(64), 'h1', T0 + 3), { ok: false, reason: 'unknown' });
      // Removed: the name is reopened as a new, pending host.
      assert.equal(store.removeHost('h1', T0 + 4), true);
      assert.deepEqual(store.registerHost({ name: 'h1', address: null, labels: {}, createdAt: T0 + 5 }, token('4', 'h1')), { ok: true });
      assert.deepEqual(store.getHost('h1'), { name: 'h1', address: null, labels: {}, createdAt: T0 + 5, enrolledAt: null, removedAt: null });
    });

    it('removes a host with its reports and unused tokens in one step, once', () => {
      store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
      store.insertJoinToken({ hash: '7'.repeat(64), hostName: 'h1', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      store.saveReports([{ hostName: 'h1', lastContact: T0, agent: null, updater: null }]);
      assert.equal(store.removeHost('h1', T0 + 1), true);
      assert.equal(store.getHost('h1')?.removedAt, T0 + 1);
      assert.deepEqual(store.listPendingTokens(T0), []);
      assert.deepEqual(store.listReports(), []);
      assert.equal(store.removeHost('h1', T0 + 2), false, 'already removed');
      assert.equal(store.getHost('h1')?.removedAt, T0 + 1);
      assert.equal(store.removeHost('nope', T0), false);
    });

    it('changes an active host\'s labels in one step and refuses a missing or removed host', () => {
      store.insertHost({ name: 'h1', address: null, labels: { a: '1', b: '2' }, createdAt: T0 });
      const changed = store.changeHostLabels('h1', { set: { c: '3', a: '9' }, remove: ['b'] });
      assert.deepEqual(changed?.labels, { a: '9', c: '3' });
      assert.deepEqual(store.getHost('h1')?.labels, { a: '9', c: '3' });
      assert.equal(changed?.name, 'h1');
      assert.equal(store.changeHostLabels('nope', { set: { a: '1' }, remove: [] }), undefined);
      store.markHostRemoved('h1', T0 + 1);
      assert.equal(store.changeHostLabels('h1', { set: { z: '1' }, remove: [] }), undefined);
      assert.deepEqual(store.getHost('h1')?.labels, { a: '9', c: '3' });
    });

    it('records an issued certificate only while its guard holds', () => {
      const cert = (serial: string, role: 'agent' | 'operator', name: string, extra: { keySha256?: string; issuedAt?: number } = {}) =>
        ({ serial, role, name, notBefore: T0, notAfter: T0 + 100, issuedAt: T0, ...extra });
      // host: the host must exist, not be removed, and (enrolled) have consumed its token.
      assert.deepEqual(store.recordIssued(cert('21', 'agent', 'h1'), { host: 'active' }), { ok: false, reason: 'host-missing' });
      store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
      assert.deepEqual(store.recordIssued(cert('21', 'agent', 'h1'), { host: 'enrolled' }), { ok: false, reason: 'host-missing' });
      assert.deepEqual(store.recordIssued(cert('21', 'agent', 'h1'), { host: 'active' }), { ok: true, retired: [] });
      store.insertJoinToken({ hash: '8'.repeat(64), hostName: 'h1', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      assert.deepEqual(store.consumeJoinToken('8'.repeat(64), 'h1', T0), { ok: true });
      assert.deepEqual(store.recordIssued(cert('22', 'agent', 'h1'), { host: 'enrolled' }), { ok: true, retired: [] });
      store.markHostRemoved('h1', T0 + 1);
      assert.deepEqual(store.recordIssued(cert('23', 'agent', 'h1'), { host: 'active' }), { ok: false, reason: 'host-missing' });
      assert.equal(store.getCertificate('23'), undefined, 'a refused certificate is not recorded');
      // vacantAt: no valid unrevoked certificate of the identity.
      assert.deepEqual(store.recordIssued(cert('31', 'operator', 'bob'), { vacantAt: T0 }), { ok: true, retired: [] });
      assert.deepEqual(store.recordIssued(cert('32', 'operator', 'bob'), { vacantAt: T0 }), { ok: false, reason: 'identity-held' });
      assert.deepEqual(store.recordIssued(cert('32', 'operator', 'bob'), { vacantAt: T0 + 100 }), { ok: true, retired: [] }, 'expired ones do not hold the name');
      // renewing: the presenting certificate is unrevoked, the key is new; the identity's others are retired.
      assert.deepEqual(store.recordIssued(cert('41', 'operator', 'carol', { keySha256: 'a'.repeat(64) }), {}), { ok: true, retired: [] });
      assert.deepEqual(store.recordIssued(cert('42', 'operator', 'carol', { keySha256: 'b'.repeat(64) }), {}), { ok: true, retired: [] });
      assert.deepEqual(store.recordIssued(cert('43', 'operator', 'carol', { keySha256: 'a'.repeat(64) }), { renewing: '42' }), { ok: false, reason: 'key-known' });
      assert.deepEqual(store.recordIssued(cert('43', 'operator', 'carol', { keySha256: 'c'.repeat(64), issuedAt: T0 + 7 }), { renewing: '42' }), { ok: true, retired: ['41'] });
      assert.equal(store.getCertificate('41')?.revokedAt, T0 + 7);
      assert.equal(store.getCertificate('42')?.revokedAt, null, 'the presenting certificate stays until its successor is used');
      assert.deepEqual(store.recordIssued(cert('44', 'operator', 'carol', { keySha256: 'd'.repeat(64) }), { renewing: '41' }), { ok: false, reason: 'certificate-revoked' });
      assert.deepEqual(store.recordIssued(cert('44', 'operator', 'carol', { keySha256: 'd'.repeat(64) }), { renewing: 'ff' }), { ok: false, reason: 'certificate-revoked' });
      assert.deepEqual(store.recordIssued(cert('44', 'operator', 'dave', { keySha256: 'd'.repeat(64) }), { renewing: '42' }), { ok: false, reason: 'certificate-revoked' }, 'another identity\'s certificate');
      // A second renewal by the same presenting certificate cuts the first one's result.
      assert.deepEqual(store.recordIssued(cert('45', 'operator', 'carol', { keySha256: 'e'.repeat(64), issuedAt: T0 + 8 }), { renewing: '42' }), { ok: true, retired: ['43'] });
    });

    it('numbers CRLs with the revoked serials of the same moment', () => {
      const base = { notBefore: T0, notAfter: T0 + 100, issuedAt: T0 };
      store.recordCertificate({ serial: '51', role: 'agent', name: 'h1', ...base });
      assert.deepEqual(store.nextCrl(), { number: 1, revoked: [] });
      store.revokeSerials(['51'], T0 + 1);
      assert.deepEqual(store.nextCrl(), { number: 2, revoked: [{ serial: '51', revokedAt: T0 + 1 }] });
      assert.equal(store.nextCounter('crl'), 3, 'the same counter');
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
