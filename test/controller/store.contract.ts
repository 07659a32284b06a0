// The store contract: every engine must pass this suite (run it with a factory per engine).
import assert from 'node:assert/strict';
import type { ReleaseBlobTables, RolloutHostRecord, RolloutRecord, Store } from '../../controller/store/index.js';

export interface StoreFactory {
  /** A fresh, empty store. */
  open(): Promise<Store>;
  /** Reopen the same data (durability), when the engine has any. */
  reopen?(): Promise<Store>;
  /** A second store instance on the same data while the first stays open (another process or replica), when the engine allows one. */
  openSecond?(): Promise<Store>;
  cleanup(): Promise<void>;
}

const T0 = 1_700_000_000_000;
const STRATEGY = { canary: 1, batch: { count: 2 }, maxParallel: 2, maxFailures: { count: 1 }, pauseBetweenMs: 0, hostDeadlineMs: 60_000 };
const rollout = (id: string): RolloutRecord => ({
  id, releaseId: 'a'.repeat(64), version: '1.0.0', kind: 'agent', state: 'pending', reason: null, strategy: STRATEGY, budget: 1, currentWave: -1,
  waveCount: 2, waveEndedAt: null, canaryAccepted: false, createdBy: 'spiffe://test/operator/admin', createdAt: T0, updatedAt: T0, endedAt: null,
});
const rolloutHost = (rolloutId: string, name: string, wave: number): RolloutHostRecord => ({
  rolloutId, name, wave, state: 'pending', error: null, from: null, pushStartedAt: null, startedAt: null, endedAt: null,
});
const event = (type: string) => ({ at: T0, type, host: null, wave: null, actor: null, reason: null, message: 'm' });

/** A release record whose id is `hex` repeated (or a full 64-hex id). */
function release(hex: string, version: string, uploadedAt: number, extra: { signature?: string | null; name?: string } = {}) {
  return {
    id: hex.length === 64 ? hex : hex.repeat(64 / hex.length), name: extra.name ?? 'sensor', version, size: 1234,
    signature: extra.signature ?? null, uploadedBy: 'spiffe://c/operator/admin', uploadedAt,
  };
}

export function storeContract(engine: string, makeFactory: () => StoreFactory): void {
  describe(`store contract: ${engine}`, () => {
    let factory: StoreFactory;
    let store: Store;
    beforeEach(async () => {
      factory = makeFactory();
      store = await factory.open();
    });
    afterEach(async () => {
      await store.close();
      await factory.cleanup();
    });

    it('keeps hosts with labels, lists only active ones, and revives a removed name', async () => {
      await store.insertHost({ name: 'h2', address: '10.0.0.2:8766', labels: { site: 'b' }, createdAt: T0 });
      await store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
      assert.deepEqual((await store.listHosts()).map((h) => h.name), ['h1', 'h2']);
      assert.deepEqual(await store.getHost('h2'), { name: 'h2', address: '10.0.0.2:8766', labels: { site: 'b' }, createdAt: T0, enrolledAt: null, removedAt: null });
      await store.setHostLabels('h2', { site: 'c', rack: '4' });
      assert.deepEqual((await store.getHost('h2'))?.labels, { site: 'c', rack: '4' });
      await assert.rejects(store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 }));
      await store.markHostRemoved('h1', T0 + 5);
      assert.deepEqual((await store.listHosts()).map((h) => h.name), ['h2']);
      assert.equal((await store.getHost('h1'))?.removedAt, T0 + 5);
      await store.reviveHost({ name: 'h1', address: 'x', labels: { a: '1' }, createdAt: T0 + 10 });
      assert.equal((await store.getHost('h1'))?.removedAt, null);
      assert.equal((await store.getHost('h1'))?.address, 'x');
      assert.equal(await store.getHost('nope'), undefined);
    });

    it('consumes a join token once, and refuses unknown, expired, used and mismatched tokens', async () => {
      await store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
      await store.insertHost({ name: 'h2', address: null, labels: {}, createdAt: T0 });
      await store.insertJoinToken({ hash: 'a'.repeat(64), hostName: 'h1', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      await store.insertJoinToken({ hash: 'b'.repeat(64), hostName: 'h2', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      assert.deepEqual(await store.consumeJoinToken('c'.repeat(64), 'h1', T0), { ok: false, reason: 'unknown' });
      assert.deepEqual(await store.consumeJoinToken('a'.repeat(64), 'h2', T0), { ok: false, reason: 'name-mismatch' });
      assert.deepEqual(await store.consumeJoinToken('b'.repeat(64), 'h2', T0 + 1000), { ok: false, reason: 'expired' });
      assert.deepEqual(await store.consumeJoinToken('a'.repeat(64), 'h1', T0 + 1), { ok: true });
      assert.equal((await store.getHost('h1'))?.enrolledAt, T0 + 1);
      assert.deepEqual(await store.consumeJoinToken('a'.repeat(64), 'h1', T0 + 2), { ok: false, reason: 'used' });
    });

    it('refuses a token for a removed or already enrolled host, and drops unused tokens on request', async () => {
      await store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
      await store.insertJoinToken({ hash: '1'.repeat(64), hostName: 'h1', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      await store.insertJoinToken({ hash: '2'.repeat(64), hostName: 'h1', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      assert.deepEqual(await store.consumeJoinToken('1'.repeat(64), 'h1', T0), { ok: true });
      assert.deepEqual(await store.consumeJoinToken('2'.repeat(64), 'h1', T0), { ok: false, reason: 'host-enrolled' });
      await store.insertHost({ name: 'h3', address: null, labels: {}, createdAt: T0 });
      await store.insertJoinToken({ hash: '3'.repeat(64), hostName: 'h3', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      await store.markHostRemoved('h3', T0);
      assert.deepEqual(await store.consumeJoinToken('3'.repeat(64), 'h3', T0), { ok: false, reason: 'host-missing' });
      await store.insertHost({ name: 'h4', address: null, labels: {}, createdAt: T0 });
      await store.insertJoinToken({ hash: '4'.repeat(64), hostName: 'h4', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      assert.equal(await store.deleteUnusedTokens('h4'), 1);
      assert.deepEqual(await store.consumeJoinToken('4'.repeat(64), 'h4', T0), { ok: false, reason: 'unknown' });
    });

    it('lists pending tokens (unused, unexpired) without their secret, and changes a host address', async () => {
      await store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
      await store.insertHost({ name: 'h2', address: null, labels: {}, createdAt: T0 });
      await store.insertJoinToken({ hash: '5'.repeat(64), hostName: 'h1', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      await store.insertJoinToken({ hash: '6'.repeat(64), hostName: 'h2', createdAt: T0 + 1, expiresAt: T0 + 10, usedAt: null });
      assert.deepEqual(await store.listPendingTokens(T0), [{ hostName: 'h1', createdAt: T0, expiresAt: T0 + 1000 }, { hostName: 'h2', createdAt: T0 + 1, expiresAt: T0 + 10 }]);
      assert.deepEqual((await store.listPendingTokens(T0 + 10)).map((t) => t.hostName), ['h1']);
      assert.deepEqual(await store.consumeJoinToken('5'.repeat(64), 'h1', T0), { ok: true });
      assert.deepEqual(await store.listPendingTokens(T0), [{ hostName: 'h2', createdAt: T0 + 1, expiresAt: T0 + 10 }]);
      await store.setHostAddress('h1', '10.0.0.1:8766');
      assert.equal((await store.getHost('h1'))?.address, '10.0.0.1:8766');
    });

    it('consumes a token atomically under concurrent attempts: exactly one wins', async () => {
      await store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
      await store.insertJoinToken({ hash: 'd'.repeat(64), hostName: 'h1', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      // Every attempt is under way before any settles: a networked engine runs them side by side.
      const attempts = Array.from({ length: 20 }, (_, i) => store.consumeJoinToken('d'.repeat(64), 'h1', T0 + i));
      const results = await Promise.all(attempts);
      assert.equal(results.filter((r) => r.ok).length, 1);
      for (const r of results) if (!r.ok) assert.ok(r.reason === 'used' || r.reason === 'host-enrolled', `a loser is refused as used, not ${r.reason}`);
      const winner = results.findIndex((r) => r.ok);
      assert.equal((await store.getHost('h1'))?.enrolledAt, T0 + winner, 'enrolled once, by the winner');
      assert.deepEqual(await store.listPendingTokens(T0), []);
    });

    it('keeps at most two valid certificates when renewals by one certificate race', async () => {
      await store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
      await store.recordCertificate({ serial: '60', role: 'agent', name: 'h1', notBefore: T0, notAfter: T0 + 100, issuedAt: T0, keySha256: '0'.repeat(64) });
      const renewals = Array.from({ length: 8 }, (_, i) => store.recordIssued(
        { serial: `6${i + 1}`, role: 'agent', name: 'h1', notBefore: T0, notAfter: T0 + 100, issuedAt: T0 + 1 + i, keySha256: String(i + 1).repeat(64) },
        { renewing: '60', host: 'active' },
      ));
      const outcomes = await Promise.all(renewals);
      assert.ok(outcomes.every((o) => o.ok), 'each renewal is recorded');
      const valid = (await store.listCertificates({ role: 'agent', name: 'h1' })).filter((c) => c.revokedAt === null).map((c) => c.serial);
      assert.equal(valid.length, 2, `the presenting certificate and one renewal stay valid, not ${valid.join(', ')}`);
      assert.ok(valid.includes('60'));
    });

    it('rejects, never throws, once closed (and closes twice quietly)', async () => {
      await store.close();
      const host = { name: 'h1', address: null, labels: {}, createdAt: T0 };
      const token = { hash: 'e'.repeat(64), hostName: 'h1', createdAt: T0, expiresAt: T0 + 1, usedAt: null };
      const cert = { serial: '70', role: 'agent' as const, name: 'h1', notBefore: T0, notAfter: T0 + 1, issuedAt: T0 };
      // Every method, or this does not compile: a new method must be listed here.
      const calls: { [K in Exclude<keyof Store, 'close' | 'engine' | 'releaseBlobs'>]: () => Promise<unknown> } = {
        insertHost: () => store.insertHost(host),
        reviveHost: () => store.reviveHost(host),
        getHost: () => store.getHost('h1'),
        listHosts: () => store.listHosts(),
        setHostLabels: () => store.setHostLabels('h1', {}),
        setHostAddress: () => store.setHostAddress('h1', null),
        markHostRemoved: () => store.markHostRemoved('h1', T0),
        registerHost: () => store.registerHost(host, token),
        removeHost: () => store.removeHost('h1', T0),
        changeHostLabels: () => store.changeHostLabels('h1', { set: {}, remove: [] }),
        insertJoinToken: () => store.insertJoinToken(token),
        deleteUnusedTokens: () => store.deleteUnusedTokens('h1'),
        listPendingTokens: () => store.listPendingTokens(T0),
        consumeJoinToken: () => store.consumeJoinToken(token.hash, 'h1', T0),
        recordCertificate: () => store.recordCertificate(cert),
        recordIssued: () => store.recordIssued(cert, {}),
        getCertificate: () => store.getCertificate('70'),
        listCertificates: () => store.listCertificates(),
        findCertificatesByKey: () => store.findCertificatesByKey('f'.repeat(64)),
        revokeIdentity: () => store.revokeIdentity('agent', 'h1', T0),
        revokeSerials: () => store.revokeSerials(['70'], T0),
        listRevoked: () => store.listRevoked(),
        openRevocationFeed: () => store.openRevocationFeed({ notice: () => undefined, resync: () => undefined, error: () => undefined }),
        savePresence: () => store.savePresence('r', T0, { opened: [], closed: [] }, 0),
        listPresence: () => store.listPresence(0),
        dropReplica: () => store.dropReplica('r'),
        nextCrl: () => store.nextCrl(),
        saveReports: () => store.saveReports([]),
        listReports: () => store.listReports(),
        appendAudit: () => store.appendAudit({ at: T0, actor: 'a', action: 'x', target: 't', details: {} }),
        listAudit: () => store.listAudit(),
        nextCounter: () => store.nextCounter('crl'),
        createRollout: () => store.createRollout(rollout('r0'), [], []),
        getRollout: () => store.getRollout('r0'),
        listRollouts: () => store.listRollouts(),
        listRolloutHosts: () => store.listRolloutHosts('r0'),
        listRolloutEvents: () => store.listRolloutEvents('r0'),
        changeRollout: () => store.changeRollout({ rolloutId: 'r0', events: [], at: T0 }),
        acquireRolloutLease: () => store.acquireRolloutLease('r0', 'a', T0, 1000),
        renewRolloutLease: () => store.renewRolloutLease('r0', 'a', 1, T0, 1000),
        releaseRolloutLease: () => store.releaseRolloutLease('r0', 'a', 1),
        getRolloutLease: () => store.getRolloutLease('r0'),
        insertRelease: () => store.insertRelease(release('a', '1.0.0', T0)),
        getRelease: () => store.getRelease('a'.repeat(64)),
        listReleases: () => store.listReleases(),
        resolveRelease: () => store.resolveRelease('1.0.0'),
        rolloutsUsingRelease: () => store.rolloutsUsingRelease('a'.repeat(64)),
      };
      const blobs = store.releaseBlobs;
      // The blob tables of an engine that has them: every method, or this does not compile.
      const blobCalls: { [K in keyof ReleaseBlobTables]: () => Promise<unknown> } | Record<string, never> = blobs ? {
        beginReleaseBlob: () => blobs.beginReleaseBlob('b1', 'a'.repeat(64), T0),
        appendReleaseChunk: () => blobs.appendReleaseChunk('b1', 0, Buffer.from('x')),
        commitReleaseBlob: () => blobs.commitReleaseBlob('b1', release('a', '1.0.0', T0)),
        discardReleaseBlob: () => blobs.discardReleaseBlob('b1'),
        findReleaseBlob: () => blobs.findReleaseBlob('a'.repeat(64)),
        readReleaseChunk: () => blobs.readReleaseChunk('b1', 0),
        sweepReleaseBlobs: () => blobs.sweepReleaseBlobs(T0),
      } : {};
      for (const [name, call] of [...Object.entries(calls), ...Object.entries(blobCalls)]) {
        let pending: Promise<unknown> | undefined;
        assert.doesNotThrow(() => {
          pending = call();
        }, `${name} throws synchronously`);
        await assert.rejects(pending!, `${name} resolves after close()`);
      }
      await store.close();
    });

    it('records certificates, revokes an identity, and lists revoked serials', async () => {
      const base = { notBefore: T0, notAfter: T0 + 100, issuedAt: T0 };
      await store.recordCertificate({ serial: '01', role: 'agent', name: 'h1', ...base });
      await store.recordCertificate({ serial: '02', role: 'updater', name: 'h1', ...base });
      await store.recordCertificate({ serial: '03', role: 'agent', name: 'h1', ...base, issuedAt: T0 + 1 });
      await store.recordCertificate({ serial: '04', role: 'operator', name: 'alice', ...base });
      assert.deepEqual((await store.listCertificates({ role: 'agent', name: 'h1' })).map((c) => c.serial), ['01', '03']);
      assert.deepEqual((await store.listCertificates({ role: 'operator' })).map((c) => c.serial), ['04']);
      assert.equal((await store.listCertificates()).length, 4);
      assert.deepEqual((await store.revokeIdentity('agent', 'h1', T0 + 50)).sort(), ['01', '03']);
      assert.deepEqual(await store.revokeIdentity('agent', 'h1', T0 + 60), [], 'already revoked');
      assert.equal((await store.getCertificate('01'))?.revokedAt, T0 + 50);
      assert.equal((await store.getCertificate('02'))?.revokedAt, null);
      assert.deepEqual(await store.listRevoked(), [{ serial: '01', revokedAt: T0 + 50 }, { serial: '03', revokedAt: T0 + 50 }]);
      await assert.rejects(store.recordCertificate({ serial: '01', role: 'agent', name: 'h1', ...base }), 'serials are unique');
    });

    it('lists serials revoked since a time', async () => {
      const base = { notBefore: T0, notAfter: T0 + 100, issuedAt: T0 };
      for (const serial of ['21', '22', '23']) await store.recordCertificate({ serial, role: 'agent', name: `h${serial}`, ...base });
      await store.revokeSerials(['21'], T0 + 10);
      await store.revokeSerials(['22'], T0 + 20);
      assert.deepEqual(await store.listRevoked({ sinceMs: T0 + 20 }), [{ serial: '22', revokedAt: T0 + 20 }]);
      assert.deepEqual((await store.listRevoked({ sinceMs: 0 })).map((r) => r.serial), ['21', '22']);
      assert.deepEqual(await store.listRevoked({ sinceMs: T0 + 21 }), []);
    });

    it('records the channels each replica holds, lists those of live replicas, and forgets dead ones', async () => {
      const ch = (role: 'agent' | 'updater', hostName: string) => ({ role, hostName });
      assert.deepEqual(await store.savePresence('a', T0, { opened: [ch('agent', 'h1'), ch('updater', 'h1')], closed: [] }, 0), { known: false }, 'a first call');
      assert.deepEqual(await store.savePresence('b', T0, { opened: [ch('agent', 'h2')], closed: [] }, 0), { known: false });
      assert.deepEqual(await store.savePresence('a', T0 + 10, { opened: [], closed: [ch('updater', 'h1')] }, 0), { known: true });
      assert.deepEqual(await store.listPresence(T0), [{ replica: 'a', role: 'agent', hostName: 'h1' }, { replica: 'b', role: 'agent', hostName: 'h2' }]);
      assert.deepEqual(await store.listPresence(T0 + 5), [{ replica: 'a', role: 'agent', hostName: 'h1' }], 'b was not alive since');
      // a reaps b (silent since T0); b comes back unknown, without its channels.
      await store.savePresence('a', T0 + 100, { opened: [ch('agent', 'h1')], closed: [] }, T0 + 50);
      assert.deepEqual(await store.savePresence('b', T0 + 101, { opened: [], closed: [] }, 0), { known: false });
      assert.deepEqual(await store.listPresence(0), [{ replica: 'a', role: 'agent', hostName: 'h1' }]);
      await store.dropReplica('a');
      assert.deepEqual(await store.listPresence(0), []);
    });

    it('finds certificates by public key and revokes single serials once', async () => {
      const base = { notBefore: T0, notAfter: T0 + 100, issuedAt: T0 };
      await store.recordCertificate({ serial: '11', role: 'agent', name: 'h1', ...base, keySha256: 'a'.repeat(64) });
      await store.recordCertificate({ serial: '12', role: 'updater', name: 'h1', ...base, keySha256: 'b'.repeat(64) });
      await store.recordCertificate({ serial: '13', role: 'agent', name: 'h1', ...base });
      assert.deepEqual((await store.findCertificatesByKey('a'.repeat(64))).map((c) => [c.serial, c.role, c.keySha256]), [['11', 'agent', 'a'.repeat(64)]]);
      assert.deepEqual(await store.findCertificatesByKey('c'.repeat(64)), []);
      assert.equal((await store.getCertificate('13'))?.keySha256, null);
      assert.deepEqual(await store.revokeSerials(['11', '13', 'ff'], T0 + 5), ['11', '13']);
      assert.deepEqual(await store.revokeSerials(['11', '12'], T0 + 6), ['12'], 'a revoked serial keeps its first revocation time');
      assert.equal((await store.getCertificate('11'))?.revokedAt, T0 + 5);
    });

    it('saves the latest reports per host and forgets removed hosts', async () => {
      await store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
      await store.insertHost({ name: 'h2', address: null, labels: {}, createdAt: T0 });
      const agent = { report: { status: 'ok', release: 'abc' }, at: T0 + 1, certNotAfter: T0 + 99 };
      await store.saveReports([{ hostName: 'h1', lastContact: T0 + 1, agent, updater: null }]);
      await store.saveReports([{ hostName: 'h1', lastContact: T0 + 2, agent, updater: { report: { status: 'ok' }, at: T0 + 2, certNotAfter: null } }]);
      await store.saveReports([{ hostName: 'h2', lastContact: T0 + 3, agent: null, updater: null }]);
      const h1 = (await store.listReports()).find((r) => r.hostName === 'h1');
      assert.deepEqual(h1, { hostName: 'h1', lastContact: T0 + 2, agent, updater: { report: { status: 'ok' }, at: T0 + 2, certNotAfter: null } });
      await store.markHostRemoved('h2', T0 + 4);
      assert.deepEqual((await store.listReports()).map((r) => r.hostName), ['h1']);
      // A removed host's reports die with it: the name re-added is a new, silent host.
      await store.reviveHost({ name: 'h2', address: null, labels: {}, createdAt: T0 + 5 });
      assert.deepEqual((await store.listReports()).map((r) => r.hostName), ['h1']);
    });

    it('appends audit entries in order and never changes them', async () => {
      const a = await store.appendAudit({ at: T0, actor: 'spiffe://c/operator/admin', action: 'host.add', target: 'h1', details: { labels: { a: '1' } } });
      const b = await store.appendAudit({ at: T0 + 1, actor: 'spiffe://c/operator/admin', action: 'host.remove', target: 'h1', details: {} });
      assert.ok(b.id > a.id);
      assert.deepEqual(await store.listAudit(), [a, b]);
      assert.deepEqual(await store.listAudit({ afterId: a.id }), [b]);
      assert.deepEqual(await store.listAudit({ limit: 1 }), [a]);
      // Newest first on request (what operators see by default), and a time floor.
      assert.deepEqual(await store.listAudit({ order: 'desc', limit: 1 }), [b]);
      assert.deepEqual(await store.listAudit({ order: 'desc' }), [b, a]);
      assert.deepEqual(await store.listAudit({ sinceMs: b.at }), [b]);
      assert.deepEqual(await store.listAudit({ sinceMs: b.at + 1 }), []);
    });

    it('registers a host with its token atomically: refuses an enrolled name, reopens a pending or removed one', async () => {
      const token = (hash: string, hostName: string) => ({ hash: hash.repeat(64), hostName, createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      assert.deepEqual(await store.registerHost({ name: 'h1', address: null, labels: { a: '1' }, createdAt: T0 }, token('1', 'h1')), { ok: true });
      assert.deepEqual((await store.listPendingTokens(T0)).map((t) => t.hostName), ['h1']);
      // Pending: a new add replaces the old token.
      assert.deepEqual(await store.registerHost({ name: 'h1', address: 'x:1', labels: {}, createdAt: T0 + 1 }, token('2', 'h1')), { ok: true });
      assert.deepEqual(await store.consumeJoinToken('1'.repeat(64), 'h1', T0 + 2), { ok: false, reason: 'unknown' });
      assert.equal((await store.getHost('h1'))?.address, 'x:1');
      assert.deepEqual(await store.consumeJoinToken('2'.repeat(64), 'h1', T0 + 2), { ok: true });
      assert.deepEqual(await store.registerHost({ name: 'h1', address: null, labels: {}, createdAt: T0 + 3 }, token('3', 'h1')), { ok: false, reason: 'host-enrolled' });
      assert.equal((await store.getHost('h1'))?.enrolledAt, T0 + 2, 'a refused add changes nothing');
      assert.deepEqual(await store.consumeJoinToken('3'.repeat(64), 'h1', T0 + 3), { ok: false, reason: 'unknown' });
      // Removed: the name is reopened as a new, pending host.
      assert.equal(await store.removeHost('h1', T0 + 4), true);
      assert.deepEqual(await store.registerHost({ name: 'h1', address: null, labels: {}, createdAt: T0 + 5 }, token('4', 'h1')), { ok: true });
      assert.deepEqual(await store.getHost('h1'), { name: 'h1', address: null, labels: {}, createdAt: T0 + 5, enrolledAt: null, removedAt: null });
    });

    it('removes a host with its reports and unused tokens in one step, once', async () => {
      await store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
      await store.insertJoinToken({ hash: '7'.repeat(64), hostName: 'h1', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      await store.saveReports([{ hostName: 'h1', lastContact: T0, agent: null, updater: null }]);
      assert.equal(await store.removeHost('h1', T0 + 1), true);
      assert.equal((await store.getHost('h1'))?.removedAt, T0 + 1);
      assert.deepEqual(await store.listPendingTokens(T0), []);
      assert.deepEqual(await store.listReports(), []);
      assert.equal(await store.removeHost('h1', T0 + 2), false, 'already removed');
      assert.equal((await store.getHost('h1'))?.removedAt, T0 + 1);
      assert.equal(await store.removeHost('nope', T0), false);
    });

    it('changes an active host\'s labels in one step and refuses a missing or removed host', async () => {
      await store.insertHost({ name: 'h1', address: null, labels: { a: '1', b: '2' }, createdAt: T0 });
      const changed = await store.changeHostLabels('h1', { set: { c: '3', a: '9' }, remove: ['b'] });
      assert.deepEqual(changed?.labels, { a: '9', c: '3' });
      assert.deepEqual((await store.getHost('h1'))?.labels, { a: '9', c: '3' });
      assert.equal(changed?.name, 'h1');
      assert.equal(await store.changeHostLabels('nope', { set: { a: '1' }, remove: [] }), undefined);
      await store.markHostRemoved('h1', T0 + 1);
      assert.equal(await store.changeHostLabels('h1', { set: { z: '1' }, remove: [] }), undefined);
      assert.deepEqual((await store.getHost('h1'))?.labels, { a: '9', c: '3' });
    });

    it('records an issued certificate only while its guard holds', async () => {
      const cert = (serial: string, role: 'agent' | 'operator', name: string, extra: { keySha256?: string; issuedAt?: number } = {}) =>
        ({ serial, role, name, notBefore: T0, notAfter: T0 + 100, issuedAt: T0, ...extra });
      // host: the host must exist, not be removed, and (enrolled) have consumed its token.
      assert.deepEqual(await store.recordIssued(cert('21', 'agent', 'h1'), { host: 'active' }), { ok: false, reason: 'host-missing' });
      await store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
      assert.deepEqual(await store.recordIssued(cert('21', 'agent', 'h1'), { host: 'enrolled' }), { ok: false, reason: 'host-missing' });
      assert.deepEqual(await store.recordIssued(cert('21', 'agent', 'h1'), { host: 'active' }), { ok: true, retired: [] });
      await store.insertJoinToken({ hash: '8'.repeat(64), hostName: 'h1', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
      assert.deepEqual(await store.consumeJoinToken('8'.repeat(64), 'h1', T0), { ok: true });
      assert.deepEqual(await store.recordIssued(cert('22', 'agent', 'h1'), { host: 'enrolled' }), { ok: true, retired: [] });
      await store.markHostRemoved('h1', T0 + 1);
      assert.deepEqual(await store.recordIssued(cert('23', 'agent', 'h1'), { host: 'active' }), { ok: false, reason: 'host-missing' });
      assert.equal(await store.getCertificate('23'), undefined, 'a refused certificate is not recorded');
      // vacantAt: no valid unrevoked certificate of the identity.
      assert.deepEqual(await store.recordIssued(cert('31', 'operator', 'bob'), { vacantAt: T0 }), { ok: true, retired: [] });
      assert.deepEqual(await store.recordIssued(cert('32', 'operator', 'bob'), { vacantAt: T0 }), { ok: false, reason: 'identity-held' });
      assert.deepEqual(await store.recordIssued(cert('32', 'operator', 'bob'), { vacantAt: T0 + 100 }), { ok: true, retired: [] }, 'expired ones do not hold the name');
      // renewing: the presenting certificate is unrevoked, the key is new; the identity's others are retired.
      assert.deepEqual(await store.recordIssued(cert('41', 'operator', 'carol', { keySha256: 'a'.repeat(64) }), {}), { ok: true, retired: [] });
      assert.deepEqual(await store.recordIssued(cert('42', 'operator', 'carol', { keySha256: 'b'.repeat(64) }), {}), { ok: true, retired: [] });
      assert.deepEqual(await store.recordIssued(cert('43', 'operator', 'carol', { keySha256: 'a'.repeat(64) }), { renewing: '42' }), { ok: false, reason: 'key-known' });
      assert.deepEqual(await store.recordIssued(cert('43', 'operator', 'carol', { keySha256: 'c'.repeat(64), issuedAt: T0 + 7 }), { renewing: '42' }), { ok: true, retired: ['41'] });
      assert.equal((await store.getCertificate('41'))?.revokedAt, T0 + 7);
      assert.equal((await store.getCertificate('42'))?.revokedAt, null, 'the presenting certificate stays until its successor is used');
      assert.deepEqual(await store.recordIssued(cert('44', 'operator', 'carol', { keySha256: 'd'.repeat(64) }), { renewing: '41' }), { ok: false, reason: 'certificate-revoked' });
      assert.deepEqual(await store.recordIssued(cert('44', 'operator', 'carol', { keySha256: 'd'.repeat(64) }), { renewing: 'ff' }), { ok: false, reason: 'certificate-revoked' });
      assert.deepEqual(await store.recordIssued(cert('44', 'operator', 'dave', { keySha256: 'd'.repeat(64) }), { renewing: '42' }), { ok: false, reason: 'certificate-revoked' }, 'another identity\'s certificate');
      // A second renewal by the same presenting certificate cuts the first one's result.
      assert.deepEqual(await store.recordIssued(cert('45', 'operator', 'carol', { keySha256: 'e'.repeat(64), issuedAt: T0 + 8 }), { renewing: '42' }), { ok: true, retired: ['43'] });
    });

    it('numbers CRLs with the revoked serials of the same moment', async () => {
      const base = { notBefore: T0, notAfter: T0 + 100, issuedAt: T0 };
      await store.recordCertificate({ serial: '51', role: 'agent', name: 'h1', ...base });
      assert.deepEqual(await store.nextCrl(), { number: 1, revoked: [] });
      await store.revokeSerials(['51'], T0 + 1);
      assert.deepEqual(await store.nextCrl(), { number: 2, revoked: [{ serial: '51', revokedAt: T0 + 1 }] });
      assert.equal(await store.nextCounter('crl'), 3, 'the same counter');
    });

    it('counts monotonically', async () => {
      assert.equal(await store.nextCounter('crl'), 1);
      assert.equal(await store.nextCounter('crl'), 2);
      assert.equal(await store.nextCounter('other'), 1);
    });

    it('writes a rollout with its hosts and first events, and lists what a restart must resume', async () => {
      const events = await store.createRollout(rollout('r1'), [rolloutHost('r1', 'h2', 1), rolloutHost('r1', 'h1', 0), { ...rolloutHost('r1', 'h3', 0), state: 'skipped' }], [event('started')]);
      assert.deepEqual(events.map((e) => [e.rolloutId, e.seq, e.type]), [['r1', 1, 'started']]);
      assert.deepEqual(await store.getRollout('r1'), rollout('r1'));
      assert.equal(await store.getRollout('nope'), undefined);
      assert.deepEqual((await store.listRolloutHosts('r1')).map((h) => [h.name, h.wave, h.state]), [['h1', 0, 'pending'], ['h3', 0, 'skipped'], ['h2', 1, 'pending']]);
      assert.deepEqual((await store.listRolloutHosts('r1'))[0], rolloutHost('r1', 'h1', 0));
      await store.createRollout({ ...rollout('r2'), createdAt: T0 + 1, state: 'done' }, [], []);
      await store.createRollout({ ...rollout('r3'), createdAt: T0 + 2, state: 'aborted' }, [{ ...rolloutHost('r3', 'h1', 0), state: 'pushing' }], []);
      assert.deepEqual((await store.listRollouts()).map((r) => r.id), ['r3', 'r2', 'r1'], 'newest first');
      assert.deepEqual((await store.listRollouts({ limit: 1 })).map((r) => r.id), ['r3']);
      assert.deepEqual((await store.listRollouts({ unsettled: true })).map((r) => r.id), ['r1', 'r3'], 'running, or aborted with a push in flight');
      await assert.rejects(store.createRollout(rollout('r1'), [], []), 'ids are unique');
    });

    it('applies rollout transitions only while their conditions hold, with events numbered in order', async () => {
      await store.createRollout(rollout('r1'), [rolloutHost('r1', 'h1', 0), rolloutHost('r1', 'h2', 0)], [event('started')]);
      const started = await store.changeRollout({ rolloutId: 'r1', rollout: { whenState: ['pending'], set: { state: 'canary', currentWave: 0 } }, events: [event('wave-started')], at: T0 + 1 });
      assert.ok(started.ok);
      assert.equal(started.rollout.state, 'canary');
      assert.equal(started.rollout.updatedAt, T0 + 1);
      assert.deepEqual(started.events.map((e) => e.seq), [2]);
      const again = await store.changeRollout({ rolloutId: 'r1', rollout: { whenState: ['pending'], set: { state: 'rolling' } }, events: [event('x')], at: T0 + 2 });
      assert.deepEqual([again.ok, !again.ok && again.reason], [false, 'rollout-state']);
      // Two drivers racing for one host: exactly one moves it from pending to pushing.
      const push = (at: number) => store.changeRollout({ rolloutId: 'r1', host: { name: 'h1', whenState: ['pending'], set: { state: 'pushing', pushStartedAt: at, startedAt: at, from: 'b'.repeat(64) } }, events: [{ ...event('host-pushing'), host: 'h1' }], at });
      const results = await Promise.all([push(T0 + 3), push(T0 + 4), push(T0 + 5)]);
      assert.equal(results.filter((r) => r.ok).length, 1);
      for (const r of results) if (!r.ok) assert.equal(r.reason, 'host-state');
      const error = { code: 'SWARM_ERR_UPDATER_AGENT_UNHEALTHY', message: 'probe failed', detail: 'status failing' };
      assert.ok((await store.changeRollout({ rolloutId: 'r1', host: { name: 'h1', whenState: ['pushing'], set: { state: 'rolled-back', error, endedAt: T0 + 9 } }, events: [event('host-rolled-back')], at: T0 + 9 })).ok);
      const h1 = (await store.listRolloutHosts('r1')).find((h) => h.name === 'h1');
      assert.deepEqual(h1, { rolloutId: 'r1', name: 'h1', wave: 0, state: 'rolled-back', error, from: 'b'.repeat(64), pushStartedAt: h1!.pushStartedAt, startedAt: h1!.startedAt, endedAt: T0 + 9 });
      assert.equal((await store.changeRollout({ rolloutId: 'r1', host: { name: 'nope', whenState: ['pending'], set: {} }, events: [], at: T0 }) as { reason?: string }).reason, 'host-state');
      assert.equal((await store.changeRollout({ rolloutId: 'nope', events: [], at: T0 }) as { reason?: string }).reason, 'not-found');
      const paused = await store.changeRollout({ rolloutId: 'r1', rollout: { set: { state: 'paused', reason: 'canary-failed', canaryAccepted: true, budget: 3, strategy: { ...STRATEGY, maxFailures: { count: 3 } }, waveEndedAt: T0 + 10 } }, events: [event('paused'), event('note')], at: T0 + 10 });
      assert.ok(paused.ok);
      assert.deepEqual([paused.rollout.reason, paused.rollout.canaryAccepted, paused.rollout.budget, paused.rollout.strategy.maxFailures, paused.rollout.waveEndedAt], ['canary-failed', true, 3, { count: 3 }, T0 + 10]);
      const all = await store.listRolloutEvents('r1');
      assert.deepEqual(all.map((e) => [e.seq, e.type]), [[1, 'started'], [2, 'wave-started'], [3, 'host-pushing'], [4, 'host-rolled-back'], [5, 'paused'], [6, 'note']]);
      assert.deepEqual(all[2], { rolloutId: 'r1', seq: 3, at: all[2]!.at, type: 'host-pushing', host: 'h1', wave: null, actor: null, reason: null, message: 'm' });
      assert.deepEqual((await store.listRolloutEvents('r1', { afterSeq: 4 })).map((e) => e.seq), [5, 6]);
      assert.deepEqual((await store.listRolloutEvents('r1', { afterSeq: 1, limit: 2 })).map((e) => e.seq), [2, 3]);
    });

    it('leases a rollout to one holder at a time: granted when free or expired, renewed by its holder, taken over after expiry, tokens ever larger', async () => {
      await store.createRollout(rollout('r1'), [rolloutHost('r1', 'h1', 0)], [event('started')]);
      await store.createRollout(rollout('r2'), [], []);
      assert.equal(await store.getRolloutLease('r1'), undefined);
      assert.equal(await store.acquireRolloutLease('nope', 'a', T0, 10_000), null, 'no lease for a rollout that does not exist');
      assert.deepEqual(await store.acquireRolloutLease('r1', 'a', T0, 10_000), { token: 1 });
      assert.deepEqual(await store.getRolloutLease('r1'), { rolloutId: 'r1', holder: 'a', token: 1, expiresAt: T0 + 10_000 });
      assert.equal(await store.acquireRolloutLease('r1', 'b', T0 + 9_999, 10_000), null, 'held until it expires');
      assert.equal(await store.acquireRolloutLease('r1', 'a', T0 + 1, 10_000), null, 'held, even for its holder');
      assert.deepEqual(await store.acquireRolloutLease('r2', 'b', T0, 10_000), { token: 1 }, 'each rollout has its own lease and tokens');
      assert.equal(await store.renewRolloutLease('r1', 'a', 1, T0 + 5_000, 10_000), true);
      assert.equal((await store.getRolloutLease('r1'))?.expiresAt, T0 + 15_000);
      assert.equal(await store.renewRolloutLease('r1', 'b', 1, T0 + 5_000, 10_000), false, 'only by its holder');
      assert.equal(await store.renewRolloutLease('r1', 'a', 2, T0 + 5_000, 10_000), false, 'only under its token');
      assert.equal(await store.acquireRolloutLease('r1', 'b', T0 + 14_999, 10_000), null, 'the renewal counts');
      // The holder stops renewing: once expired, another takes it over with a larger token, and the old holder cannot renew.
      assert.deepEqual(await store.acquireRolloutLease('r1', 'b', T0 + 15_000, 10_000), { token: 2 });
      assert.deepEqual(await store.getRolloutLease('r1'), { rolloutId: 'r1', holder: 'b', token: 2, expiresAt: T0 + 25_000 });
      assert.equal(await store.renewRolloutLease('r1', 'a', 1, T0 + 15_001, 10_000), false, 'the old holder lost it');
      assert.equal(await store.releaseRolloutLease('r1', 'a', 1), false, 'nor can it release it');
      // An expired lease nobody took is still its holder's: a renewal keeps it.
      assert.equal(await store.renewRolloutLease('r1', 'b', 2, T0 + 40_000, 10_000), true);
      // A released lease is free at once; the next grant counts on from the last token.
      assert.equal(await store.releaseRolloutLease('r1', 'b', 2), true);
      assert.deepEqual(await store.getRolloutLease('r1'), { rolloutId: 'r1', holder: null, token: 2, expiresAt: 0 });
      assert.equal(await store.renewRolloutLease('r1', 'b', 2, T0 + 40_001, 10_000), false, 'released is released');
      assert.deepEqual(await store.acquireRolloutLease('r1', 'c', T0 + 40_002, 10_000), { token: 3 });
      // A controller alone on its database takes its dead predecessor's lease at start, still with a larger token.
      assert.deepEqual(await store.acquireRolloutLease('r1', 'd', T0 + 40_003, 10_000, { evenIfHeld: true }), { token: 4 });
      assert.equal((await store.getRolloutLease('r1'))?.holder, 'd');
    });

    it('refuses a driver\'s transition under a stale token and writes nothing; an operator\'s (unfenced) transition goes through', async () => {
      await store.createRollout(rollout('r1'), [rolloutHost('r1', 'h1', 0), rolloutHost('r1', 'h2', 0)], [event('started')]);
      const a = await store.acquireRolloutLease('r1', 'a', T0, 10_000);
      const fenceA = { holder: 'a', token: a!.token };
      const started = await store.changeRollout({ rolloutId: 'r1', fence: fenceA, rollout: { whenState: ['pending'], set: { state: 'rolling', currentWave: 0 } }, events: [event('wave-started')], at: T0 + 1 });
      assert.ok(started.ok, 'the holder writes');
      const push = (fence: { holder: string; token: number }, name: string, at: number) => store.changeRollout({
        rolloutId: 'r1', fence, rollout: { whenState: ['rolling'], set: {} }, host: { name, whenState: ['pending'], set: { state: 'pushing', pushStartedAt: at, startedAt: at } },
        events: [{ ...event('host-pushing'), host: name }], at,
      });
      assert.ok((await push(fenceA, 'h1', T0 + 2)).ok);
      assert.equal(((await push({ holder: 'a', token: a!.token + 1 }, 'h2', T0 + 3)) as { reason?: string }).reason, 'fenced', 'a token it was never granted');
      assert.equal(((await push({ holder: 'x', token: a!.token }, 'h2', T0 + 3)) as { reason?: string }).reason, 'fenced', 'another holder');
      // a pauses past its lease; b takes the rollout over.
      const b = await store.acquireRolloutLease('r1', 'b', T0 + 10_000, 10_000);
      assert.ok(b && b.token > a!.token);
      const before = { rollout: await store.getRollout('r1'), hosts: await store.listRolloutHosts('r1'), events: await store.listRolloutEvents('r1') };
      const stale = [
        await push(fenceA, 'h2', T0 + 10_001),
        await store.changeRollout({ rolloutId: 'r1', fence: fenceA, host: { name: 'h1', whenState: ['pushing'], set: { state: 'succeeded', endedAt: T0 + 10_002 } }, events: [{ ...event('host-succeeded'), host: 'h1' }], at: T0 + 10_002 }),
        await store.changeRollout({ rolloutId: 'r1', fence: fenceA, rollout: { whenState: ['rolling'], set: { state: 'done', endedAt: T0 + 10_003 } }, events: [event('done')], at: T0 + 10_003 }),
      ];
      for (const r of stale) assert.deepEqual([r.ok, !r.ok && r.reason], [false, 'fenced']);
      assert.deepEqual({ rollout: await store.getRollout('r1'), hosts: await store.listRolloutHosts('r1'), events: await store.listRolloutEvents('r1') }, before, 'nothing written, no event');
      // The new holder writes; an operator's pause needs no lease.
      assert.ok((await store.changeRollout({ rolloutId: 'r1', fence: { holder: 'b', token: b.token }, host: { name: 'h1', whenState: ['pushing'], set: { state: 'succeeded' } }, events: [event('host-succeeded')], at: T0 + 10_004 })).ok);
      const paused = await store.changeRollout({ rolloutId: 'r1', rollout: { whenState: ['rolling'], set: { state: 'paused', reason: 'operator' } }, events: [event('paused')], at: T0 + 10_005 });
      assert.ok(paused.ok);
      assert.deepEqual((await store.listRolloutEvents('r1')).map((e) => e.type), ['started', 'wave-started', 'host-pushing', 'host-succeeded', 'paused']);
      // No lease row at all: a fenced write is refused too.
      await store.createRollout(rollout('r2'), [], []);
      assert.equal(((await store.changeRollout({ rolloutId: 'r2', fence: fenceA, rollout: { set: { state: 'rolling' } }, events: [event('x')], at: T0 })) as { reason?: string }).reason, 'fenced');
      assert.deepEqual((await store.listRolloutEvents('r2')), []);
    });

    it('stores a release once: a second insert of the same id answers the first record', async () => {
      const first = release('a', '1.0.0', T0, { signature: 'c2ln' });
      assert.deepEqual(await store.insertRelease(first), { release: first, created: true });
      const again = await store.insertRelease({ ...first, version: '9.9.9', signature: null, uploadedBy: 'spiffe://c/operator/bob', uploadedAt: T0 + 5 });
      assert.deepEqual(again, { release: first, created: false });
      assert.deepEqual(await store.getRelease(first.id), first);
      assert.equal(await store.getRelease('b'.repeat(64)), undefined);
      await store.insertRelease(release('b', '1.1.0', T0 + 10));
      await store.insertRelease(release('c', '0.9.0', T0 + 5));
      assert.deepEqual((await store.listReleases()).map((r) => r.version), ['1.1.0', '0.9.0', '1.0.0'], 'newest upload first');
      assert.deepEqual(await store.rolloutsUsingRelease(first.id), []);
    });

    it('resolves a release reference: id, unique 8+ hex prefix, version; unknown and ambiguous ones say so', async () => {
      const a = release(`abcdef01${'1'.repeat(56)}`, '1.0.0', T0);
      const b = release(`abcdef01${'2'.repeat(56)}`, '1.1.0', T0 + 1);
      const c = release(`12345678${'3'.repeat(56)}`, '1.1.0', T0 + 2, { name: 'other' });
      for (const r of [a, b, c]) await store.insertRelease(r);
      assert.deepEqual(await store.resolveRelease(a.id), { ok: true, release: a });
      assert.deepEqual(await store.resolveRelease(`abcdef01${'1'.repeat(4)}`), { ok: true, release: a });
      assert.deepEqual(await store.resolveRelease('1.0.0'), { ok: true, release: a });
      assert.deepEqual(await store.resolveRelease('12345678'), { ok: true, release: c });
      assert.deepEqual(await store.resolveRelease('abcdef01'), { ok: false, reason: 'ambiguous', candidates: [b, a] });
      assert.deepEqual(await store.resolveRelease('1.1.0'), { ok: false, reason: 'ambiguous', candidates: [c, b] });
      assert.deepEqual(await store.resolveRelease('abcdef0'), { ok: false, reason: 'unknown' }, 'seven hex digits are not a prefix');
      assert.deepEqual(await store.resolveRelease('2.0.0'), { ok: false, reason: 'unknown' });
      assert.deepEqual(await store.resolveRelease('ABCDEF01'), { ok: false, reason: 'unknown' }, 'ids are lowercase');
    });

    it('lets exactly one of two store instances on one database win each race: transitions, tokens, counters', async function () {
      if (!factory.openSecond) this.skip();
      const other = await factory.openSecond!();
      try {
        const both = [store, other];
        await store.createRollout(rollout('r1'), [rolloutHost('r1', 'h1', 0)], [event('started')]);
        const start = (s: Store, at: number) => s.changeRollout({ rolloutId: 'r1', rollout: { whenState: ['pending'], set: { state: 'canary', currentWave: 0 } }, events: [event('wave-started')], at });
        const starts = await Promise.all(Array.from({ length: 6 }, (_, i) => start(both[i % 2]!, T0 + i)));
        assert.equal(starts.filter((r) => r.ok).length, 1, 'one instance starts the rollout');
        for (const r of starts) if (!r.ok) assert.equal(r.reason, 'rollout-state');
        const push = (s: Store, at: number) => s.changeRollout({ rolloutId: 'r1', host: { name: 'h1', whenState: ['pending'], set: { state: 'pushing', pushStartedAt: at } }, events: [{ ...event('host-pushing'), host: 'h1' }], at });
        const pushes = await Promise.all(Array.from({ length: 6 }, (_, i) => push(both[i % 2]!, T0 + 10 + i)));
        assert.equal(pushes.filter((r) => r.ok).length, 1, 'one instance pushes the host');
        for (const r of pushes) if (!r.ok) assert.equal(r.reason, 'host-state');
        assert.deepEqual((await other.listRolloutEvents('r1')).map((e) => [e.seq, e.type]), [[1, 'started'], [2, 'wave-started'], [3, 'host-pushing']]);
        assert.equal((await other.listRolloutHosts('r1'))[0]?.state, 'pushing');
        await store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
        await store.insertJoinToken({ hash: '9'.repeat(64), hostName: 'h1', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
        const consumed = await Promise.all(Array.from({ length: 6 }, (_, i) => both[i % 2]!.consumeJoinToken('9'.repeat(64), 'h1', T0 + i)));
        assert.equal(consumed.filter((r) => r.ok).length, 1, 'one instance consumes the token');
        const numbers = await Promise.all(Array.from({ length: 10 }, (_, i) => both[i % 2]!.nextCounter('crl')));
        assert.deepEqual([...numbers].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'distinct counter values');
      } finally {
        await other.close();
      }
    });

    it('grants a rollout\'s lease to exactly one of two store instances racing for it, free or expired, and refuses the loser\'s fenced writes', async function () {
      if (!factory.openSecond) this.skip();
      const other = await factory.openSecond!();
      try {
        const both = [store, other];
        for (const id of ['r1', 'r2', 'r3']) await store.createRollout(rollout(id), [rolloutHost(id, 'h1', 0)], [event('started')]);
        for (const id of ['r1', 'r2', 'r3']) {
          const grants = await Promise.all(Array.from({ length: 8 }, (_, i) => both[i % 2]!.acquireRolloutLease(id, `holder-${i}`, T0, 10_000)));
          assert.equal(grants.filter((g) => g !== null).length, 1, `${id}: one holder`);
        }
        // Expired: racing takeovers, again exactly one, with the next token.
        const takeovers = await Promise.all(Array.from({ length: 8 }, (_, i) => both[i % 2]!.acquireRolloutLease('r1', `next-${i}`, T0 + 10_000, 10_000)));
        const won = takeovers.flatMap((g, i) => (g ? [{ i, token: g.token }] : []));
        assert.deepEqual(won.map((w) => w.token), [2]);
        const lease = (await other.getRolloutLease('r1'))!;
        assert.equal(lease.holder, `next-${won[0]!.i}`);
        // A renewal by the loser of the race and the winner's writes, interleaved from both instances: only the winner's land.
        const winner = { holder: lease.holder!, token: 2 };
        const loser = { holder: `next-${(won[0]!.i + 1) % 8}`, token: 2 };
        const pushes = await Promise.all([winner, loser, loser, loser].map((fence, i) => both[i % 2]!.changeRollout({
          rolloutId: 'r1', fence, host: { name: 'h1', whenState: ['pending'], set: { state: 'pushing' } }, events: [{ ...event('host-pushing'), host: 'h1' }], at: T0 + 10_001,
        })));
        assert.deepEqual(pushes.map((p) => p.ok), [true, false, false, false]);
        for (const p of pushes.slice(1)) assert.equal((p as { reason?: string }).reason, 'fenced');
        assert.equal(await both[1]!.renewRolloutLease('r1', loser.holder, 2, T0 + 10_002, 10_000), false);
      } finally {
        await other.close();
      }
    });

    it('leaves no certificate of an identity valid when its revocation races renewals, one identity when adds of an operator race, and one token when adds of a host race', async () => {
      const other = factory.openSecond ? await factory.openSecond() : store;
      try {
        const both = [store, other];
        await store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: T0 });
        await store.recordCertificate({ serial: '80', role: 'agent', name: 'h1', notBefore: T0, notAfter: T0 + 100, issuedAt: T0, keySha256: '0'.repeat(64) });
        const renewals = Array.from({ length: 6 }, (_, i) => both[i % 2]!.recordIssued(
          { serial: `8${i + 1}`, role: 'agent', name: 'h1', notBefore: T0, notAfter: T0 + 100, issuedAt: T0 + 1 + i, keySha256: String(i + 1).repeat(64) },
          { renewing: '80', host: 'active' },
        ));
        const revocation = other.revokeIdentity('agent', 'h1', T0 + 50);
        const [revoked, ...outcomes] = await Promise.all([revocation, ...renewals]);
        for (const o of outcomes) if (!o.ok) assert.equal(o.reason, 'certificate-revoked');
        assert.ok(revoked.includes('80'));
        // A renewal recorded before the revocation is revoked by it; one after it is refused: nothing stays valid.
        const valid = (await store.listCertificates({ role: 'agent', name: 'h1' })).filter((c) => c.revokedAt === null);
        assert.deepEqual(valid.map((c) => c.serial), [], 'a revocation and the renewals that raced it leave nothing valid');

        // Two adds of one operator name: one identity is issued, the other refused.
        const operators = await Promise.all(Array.from({ length: 4 }, (_, i) => both[i % 2]!.recordIssued(
          { serial: `9${i}`, role: 'operator', name: 'bob', notBefore: T0, notAfter: T0 + 100, issuedAt: T0 }, { vacantAt: T0 })));
        assert.equal(operators.filter((o) => o.ok).length, 1, 'one operator bob');
        for (const o of operators) if (!o.ok) assert.equal(o.reason, 'identity-held');

        const token = (hash: string) => ({ hash: hash.repeat(64), hostName: 'h2', createdAt: T0, expiresAt: T0 + 1000, usedAt: null });
        const adds = await Promise.all(['a', 'b', 'c', 'd'].map((h, i) => both[i % 2]!.registerHost({ name: 'h2', address: null, labels: { n: h }, createdAt: T0 + i }, token(h))));
        assert.deepEqual(adds, [{ ok: true }, { ok: true }, { ok: true }, { ok: true }], 'each add of a pending name succeeds');
        assert.equal((await store.listPendingTokens(T0)).filter((t) => t.hostName === 'h2').length, 1, 'the last add\'s token alone is pending');
      } finally {
        if (other !== store) await other.close();
      }
    });

    it('keeps everything across a reopen', async function () {
      if (!factory.reopen) this.skip();
      await store.insertHost({ name: 'h1', address: null, labels: { k: 'v' }, createdAt: T0 });
      await store.appendAudit({ at: T0, actor: 'a', action: 'x', target: 'h1', details: {} });
      await store.close();
      store = await factory.reopen!();
      assert.deepEqual((await store.getHost('h1'))?.labels, { k: 'v' });
      assert.equal((await store.listAudit()).length, 1);
    });
  });
}
