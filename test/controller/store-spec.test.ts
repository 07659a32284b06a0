// The --store value: which URLs are PostgreSQL databases, and what of one may be shown (never the password).
import assert from 'node:assert/strict';
import { redactStoreUrl, storeSpec, StoreUrlSchema } from '../../controller/store/index.js';

describe('--store URL', () => {
  it('accepts postgres:// and postgresql:// URLs with a database, over TCP or a socket directory', () => {
    for (const url of ['postgres://swarm@db.example/swarm', 'postgresql://swarm:pw@10.0.0.5:5433/swarm?sslmode=verify-full', 'postgres:///swarm?host=/var/run/postgresql', 'postgres://[::1]:5432/swarm']) {
      assert.ok(StoreUrlSchema.safeParse(url).success, url);
    }
  });

  it('refuses other schemes, a missing host or database, and a bare path, without repeating the value', () => {
    for (const url of ['mysql://root:Hunter2@db/x', 'postgres://db.example', 'postgres://db.example/', 'postgres:///swarm', '/var/lib/swarm/swarm.db', 'sqlite:swarm.db', '']) {
      const r = StoreUrlSchema.safeParse(url);
      assert.ok(!r.success, url);
      assert.doesNotMatch(r.error.issues.map((i) => i.message).join(' '), /Hunter2/);
    }
  });

  it('shows a URL without its password or query, and picks the engine', () => {
    assert.equal(redactStoreUrl('postgres://swarm:Hunter2@db.example:5433/swarm?password=Hunter2&sslmode=require'), 'postgres://swarm@db.example:5433/swarm');
    assert.equal(redactStoreUrl('postgres:///swarm?host=/run/postgresql'), 'postgres:///swarm');
    assert.doesNotMatch(redactStoreUrl('not a url Hunter2'), /Hunter2/);
    assert.deepEqual(storeSpec(undefined), { engine: 'sqlite' });
    assert.deepEqual(storeSpec('postgres://h/d'), { engine: 'postgres', url: 'postgres://h/d' });
  });
});
