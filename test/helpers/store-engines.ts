// Run a suite once per store engine: SQLite (in a temp dir) and PostgreSQL (a server this suite starts, a fresh
// database per store). Behaviour tests that go through the store use it to hold on both engines.
import { join } from 'node:path';
import { openPostgresStore, openSqliteStore, type Store } from '../../controller/store/index.js';
import { tempDir } from './pki.js';
import { startPostgres, type PgServer } from './postgres.js';

export interface StoreEngine {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty store of this engine; closing it is the caller's, its files go when the suite ends. */
  openStore(): Promise<Store>;
  /** `n` store instances on one fresh database (replicas, or a controller and its successor); closing them is the caller's. */
  openStores(n: number): Promise<Store[]>;
}

/** `describe(title [engine store])` once per engine; the PostgreSQL one starts its server before and stops it after. */
export function describeForEachStoreEngine(title: string, body: (this: Mocha.Suite, engine: StoreEngine) => void): void {
  describe(`${title} [sqlite store]`, function () {
    const dirs: Array<Awaited<ReturnType<typeof tempDir>>> = [];
    body.call(this, {
      name: 'sqlite',
      async openStore() {
        const dir = await tempDir('swarm-store-');
        dirs.push(dir);
        return openSqliteStore(join(dir.path, 'swarm.db'));
      },
      async openStores(n) {
        const dir = await tempDir('swarm-store-');
        dirs.push(dir);
        return Array.from({ length: n }, () => openSqliteStore(join(dir.path, 'swarm.db')));
      },
    });
    // Registered after the body's hooks, so it runs after them (the stores are closed by then).
    after(async () => {
      for (const d of dirs) await d.cleanup();
    });
  });
  describe(`${title} [postgres store]`, function () {
    let server: PgServer | undefined;
    before(async function () {
      this.timeout(120_000);
      server = await startPostgres();
    });
    body.call(this, {
      name: 'postgres',
      async openStore() {
        return openPostgresStore((await server!.createDatabase()).url);
      },
      async openStores(n) {
        const { url } = await server!.createDatabase();
        const stores: Store[] = [];
        for (let i = 0; i < n; i++) stores.push(await openPostgresStore(url));
        return stores;
      },
    });
    // After the body's hooks (its stores are closed by then); the databases go with the server's directory.
    after(async () => {
      await server?.stop();
    });
  });
}
