// The store contract against the PostgreSQL engine, on a real PostgreSQL server this test starts (a fresh database per
// test), plus what only the PostgreSQL engine promises.
import assert from 'node:assert/strict';
import pg from 'pg';
import { openPostgresStore, type Store } from '../../controller/store/index.js';
import { startPostgres, type PgServer, type TestDatabase } from '../helpers/postgres.js';
import { storeContract } from './store.contract.js';

describe('postgres store engine', function () {
  this.timeout(60_000);
  let server: PgServer | undefined;
  before(async function () {
    this.timeout(120_000);
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });

  storeContract('postgres', () => {
    let db: TestDatabase | undefined;
    return {
      async open() {
        db = await server!.createDatabase();
        return openPostgresStore(db.url);
      },
      async reopen() {
        return openPostgresStore(db!.url);
      },
      async openSecond() {
        return openPostgresStore(db!.url);
      },
      async cleanup() {
        await db?.drop();
      },
    };
  });

  describe('what only PostgreSQL promises', () => {
    let db: TestDatabase;
    let store: Store | undefined;
    let raw: pg.Client | undefined;
    beforeEach(async () => {
      db = await server!.createDatabase();
    });
    afterEach(async () => {
      await store?.close();
      await raw?.end();
      store = undefined;
      raw = undefined;
      await db.drop();
    });
    const connect = async (): Promise<pg.Client> => {
      raw = new pg.Client({ connectionString: db.url });
      await raw.connect();
      return raw;
    };

    it('keeps its schema in PostgreSQL types, refuses audit changes at the database level, and a newer schema', async () => {
      store = await openPostgresStore(db.url);
      await store.appendAudit({ at: 1, actor: 'a', action: 'x', target: 't', details: { k: 'v' } });
      await store.close();
      store = undefined;
      const c = await connect();
      const types = await c.query<{ table_name: string; column_name: string; data_type: string }>(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'");
      const type = (t: string, col: string) => types.rows.find((r) => r.table_name === t && r.column_name === col)?.data_type;
      assert.equal(type('hosts', 'created_at'), 'bigint');
      assert.equal(type('hosts', 'labels'), 'jsonb');
      assert.equal(type('audit_log', 'details'), 'jsonb');
      assert.equal(type('rollouts', 'strategy'), 'jsonb');
      assert.equal(type('rollouts', 'canary_accepted'), 'boolean');
      assert.equal(type('host_reports', 'agent'), 'jsonb');
      await assert.rejects(c.query("UPDATE audit_log SET actor = 'evil'"), /append-only/);
      await assert.rejects(c.query('DELETE FROM audit_log'), /append-only/);
      await assert.rejects(c.query('TRUNCATE audit_log'), /append-only/);
      assert.deepEqual((await c.query('SELECT version FROM swarm_schema ORDER BY version')).rows.map((r: { version: number }) => r.version), [1, 2, 3]);
      await c.query('INSERT INTO swarm_schema (version, applied_at) VALUES (99, 0)');
      await assert.rejects(openPostgresStore(db.url), (err: Error & { code?: string }) => err.code === 'SWARM_ERR_STORE' && /newer than this controller/.test(err.message));
    });

    it('migrates once when several controllers open an empty database together', async () => {
      const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore(db.url, { poolSize: 2 })));
      try {
        await stores[0]!.insertHost({ name: 'h1', address: null, labels: {}, createdAt: 1 });
        for (const s of stores) assert.equal((await s.getHost('h1'))?.name, 'h1');
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
      const c = await connect();
      assert.deepEqual((await c.query('SELECT version FROM swarm_schema ORDER BY version')).rows.map((r: { version: number }) => r.version), [1, 2, 3], 'each migration once');
    });

    it('answers SWARM_ERR_STORE naming the database but never the password when it cannot connect', async () => {
      const url = `postgres://swarm:s3cret-pw@127.0.0.1:${server!.port}/no_such_db`;
      await assert.rejects(openPostgresStore(url), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'SWARM_ERR_STORE');
        assert.match(err.message, /postgres:\/\/swarm@127\.0\.0\.1:\d+\/no_such_db/);
        assert.doesNotMatch(err.message, /s3cret/);
        return true;
      });
    });

    it('keeps audit ids in commit order across controllers, and token consumption single across them', async () => {
      store = await openPostgresStore(db.url);
      const other = await openPostgresStore(db.url);
      try {
        const entries = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? store! : other).appendAudit({ at: i, actor: 'a', action: 'x', target: String(i), details: {} })));
        const ids = entries.map((e) => e.id).sort((a, b) => a - b);
        assert.deepEqual((await store.listAudit()).map((e) => e.id), ids);
        assert.equal(new Set(ids).size, 40);
        await store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: 1 });
        await store.insertJoinToken({ hash: 'a'.repeat(64), hostName: 'h1', createdAt: 1, expiresAt: 1000, usedAt: null });
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? store! : other).consumeJoinToken('a'.repeat(64), 'h1', 2 + i)));
        assert.equal(results.filter((r) => r.ok).length, 1);
      } finally {
        await other.close();
      }
    });

    it('carries on after the server drops its connections (a restart or a failover of PostgreSQL)', async () => {
      store = await openPostgresStore(db.url);
      await store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: 1 });
      const c = await connect();
      const killed = await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db.name]);
      assert.ok(killed.rows.length > 0, 'the store had connections');
      // A call may fail on a connection that died under it; within a few calls the pool has fresh ones.
      let host;
      for (let i = 0; i < 20 && !host; i++) {
        host = await store.getHost('h1').catch(() => undefined);
        if (!host) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(host?.name, 'h1');
      assert.deepEqual(await store.consumeJoinToken('f'.repeat(64), 'h1', 1), { ok: false, reason: 'unknown' }, 'transactions work again');
    });

    it('stores a NUL character of a report as U+FFFD instead of failing the batch', async () => {
      store = await openPostgresStore(db.url);
      await store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: 1 });
      await store.saveReports([{ hostName: 'h1', lastContact: 1, agent: { report: { message: 'a\u0000b', path: 'c:\\u0000' }, at: 1, certNotAfter: null }, updater: null }]);
      const [r] = await store.listReports();
      assert.deepEqual(r?.agent?.report, { message: 'a\ufffdb', path: 'c:\\u0000' });
    });
  });
});
