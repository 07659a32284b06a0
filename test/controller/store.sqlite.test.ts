// The store contract against the SQLite engine (a file in a temp dir), plus what only SQLite promises.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../controller/store/index.js';
import { tempDir } from '../helpers/pki.js';
import { storeContract } from './store.contract.js';

storeContract('sqlite', () => {
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  return {
    async open() {
      dir = await tempDir('swarm-store-');
      return openSqliteStore(join(dir.path, 'swarm.db'));
    },
    async reopen() {
      return openSqliteStore(join(dir!.path, 'swarm.db'));
    },
    async openSecond() {
      return openSqliteStore(join(dir!.path, 'swarm.db'));
    },
    async cleanup() {
      await dir?.cleanup();
    },
  };
});

describe('sqlite store engine', () => {
  it('runs in WAL mode with foreign keys, and the audit log refuses updates at the database level', async () => {
    const dir = await tempDir('swarm-store-');
    try {
      const path = join(dir.path, 'swarm.db');
      const store = openSqliteStore(path);
      await store.appendAudit({ at: 1, actor: 'a', action: 'x', target: 't', details: {} });
      await store.close();
      const db = new Database(path);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.throws(() => db.prepare('UPDATE audit_log SET actor = ?').run('evil'), /append-only/);
      assert.throws(() => db.prepare('DELETE FROM audit_log').run(), /append-only/);
      db.pragma('user_version = 99');
      db.close();
      assert.throws(() => openSqliteStore(path), /newer than this controller/);
    } finally {
      await dir.cleanup();
    }
  });
});
