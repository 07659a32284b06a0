// `--store postgres://...` end to end with the real bins: init and serve on a PostgreSQL server the test starts,
// swarmctl through it, a second serve on a copy of the state directory seeing the same fleet; the password never
// shows, and a state directory is opened only with the engine it was initialised for.
import assert from 'node:assert/strict';
import { cp, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { tempDir } from '../helpers/pki.js';
import { startPostgres, type PgServer, type TestDatabase } from '../helpers/postgres.js';
import { BUILD_ROOT, CONTROLLER_BIN, runBin, spawnServe, SWARMCTL_BIN } from './helpers.js';

const UPDATER_BIN = join(BUILD_ROOT, 'updater', 'main.js');

describe('swarm-controller --store postgres:// (processes)', function () {
  this.timeout(90_000);
  let server: PgServer | undefined;
  let db: TestDatabase | undefined;
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  const stops: Array<() => Promise<void>> = [];
  before(async function () {
    this.timeout(120_000);
    server = await startPostgres();
    db = await server.createDatabase();
    dir = await tempDir('swarm-ctl-pg-');
  });
  after(async () => {
    for (const stop of stops) await stop();
    await db?.drop().catch(() => undefined);
    await server?.stop();
    await dir?.cleanup();
  });

  it('inits into PostgreSQL, serves from it (two processes, one fleet, a token consumed once across them), and never shows the password', async () => {
    // Trust authentication accepts any password: this one must appear nowhere.
    const url = db!.url.replace('postgres@', 'postgres:Hunter2-secret@');
    const stateDir = join(dir!.path, 'a');
    const init = await runBin(CONTROLLER_BIN, ['init', '--state-dir', stateDir, '--cluster', 'pgtest', '--san', '127.0.0.1', '--store', url]);
    assert.equal(init.code, 0, init.stderr);
    assert.ok(!existsSync(join(stateDir, 'swarm.db')), 'no SQLite database');
    const storeFile = await readFile(join(stateDir, 'store.json'), 'utf8');
    assert.deepEqual(JSON.parse(storeFile), { engine: 'postgres', database: `postgres://postgres@127.0.0.1:${server!.port}/${db!.name}` });

    const a = await spawnServe(stateDir, ['--store', url]);
    stops.push(a.stop);
    const adminDir = join(stateDir, 'operators', 'admin');
    const ctl = (controller: string, args: string[]) => runBin(SWARMCTL_BIN, args, { SWARMCTL_CONTROLLER: controller, SWARMCTL_IDENTITY: adminDir });
    const add = await ctl(a.url, ['--json', 'host', 'add', 'h1', '--address', '127.0.0.1', '--label', 'site=lab']);
    assert.equal(add.code, 0, add.stderr);

    // A second controller process: the same PKI (a copy of the state directory), the same database.
    const stateB = join(dir!.path, 'b');
    await cp(stateDir, stateB, { recursive: true, preserveTimestamps: true });
    const b = await spawnServe(stateB, ['--store', url]);
    stops.push(b.stop);
    for (const controller of [a.url, b.url]) {
      const list = await ctl(controller, ['--json', 'host', 'list']);
      assert.equal(list.code, 0, list.stderr);
      const hosts = JSON.parse(list.stdout) as Array<{ name: string; labels: Record<string, string> }>;
      assert.deepEqual(hosts.map((h) => [h.name, h.labels]), [['h1', { site: 'lab' }]], `host list from ${controller}`);
    }

    // The token made on one process is consumed through the other, once.
    const token = (JSON.parse(add.stdout) as { token: string; caHash: string });
    const join1 = await runBin(UPDATER_BIN, ['join', '--controller', b.url, '--ca-hash', token.caHash, '--pki-dir', join(dir!.path, 'host-pki')], { SWARM_JOIN_TOKEN: token.token });
    assert.equal(join1.code, 0, join1.stderr);
    const join2 = await runBin(UPDATER_BIN, ['join', '--controller', a.url, '--ca-hash', token.caHash, '--pki-dir', join(dir!.path, 'host-pki-2')], { SWARM_JOIN_TOKEN: token.token });
    assert.equal(join2.code, 1);
    assert.match(join2.stderr, /SWARM_ERR_ENROLL_REFUSED/);
    const show = await ctl(a.url, ['--json', 'host', 'show', 'h1']);
    assert.equal(show.code, 0, show.stderr);
    const detail = JSON.parse(show.stdout) as { enrolled: boolean; certificates: Array<{ role: string; state: string }> };
    assert.equal(detail.enrolled, true);
    assert.deepEqual(detail.certificates.map((c) => `${c.role} ${c.state}`).sort(), ['agent valid', 'updater valid']);

    // The rows are PostgreSQL's: the host, the controller's and admin's certificates, the audit entries.
    const c = new pg.Client({ connectionString: db!.url });
    await c.connect();
    try {
      assert.deepEqual((await c.query('SELECT name FROM hosts')).rows, [{ name: 'h1' }]);
      const roles = (await c.query<{ role: string }>('SELECT role FROM certificates ORDER BY role')).rows.map((r) => r.role);
      assert.ok(roles.includes('controller') && roles.includes('operator'), roles.join(','));
      const actions = (await c.query<{ action: string }>('SELECT action FROM audit_log ORDER BY id')).rows.map((r) => r.action);
      assert.equal(actions[0], 'controller.init');
      assert.ok(actions.includes('host.add'), actions.join(','));
    } finally {
      await c.end();
    }
    for (const text of [init.stdout, init.stderr, storeFile, a.logs(), b.logs(), add.stdout, add.stderr]) assert.doesNotMatch(text, /Hunter2/);
    assert.match(a.logs(), /"store":"postgres:\/\/postgres@127\.0\.0\.1:\d+\/swarm_test_/);
  });

  it('refuses the wrong engine or another cluster\'s database for a state directory, init into a database that holds a cluster, and a malformed URL', async () => {
    const stateDir = join(dir!.path, 'a');
    const noFlag = await runBin(CONTROLLER_BIN, ['rotate-identity', '--state-dir', stateDir]);
    assert.equal(noFlag.code, 1);
    assert.match(noFlag.stderr, /SWARM_ERR_STORE_MISMATCH/);
    assert.match(noFlag.stderr, /keeps its data in PostgreSQL \(postgres:\/\/postgres@127\.0\.0\.1/);

    const empty = await server!.createDatabase();
    try {
      const elsewhere = await runBin(CONTROLLER_BIN, ['serve', '--state-dir', stateDir, '--listen', '127.0.0.1:0', '--store', empty.url]);
      assert.equal(elsewhere.code, 1);
      assert.match(elsewhere.stderr, /SWARM_ERR_STORE_MISMATCH/);
      assert.match(elsewhere.stderr, /has no record of .*controller certificate/);
    } finally {
      await empty.drop();
    }

    const again = await runBin(CONTROLLER_BIN, ['init', '--state-dir', join(dir!.path, 'c'), '--cluster', 'other', '--store', db!.url]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /SWARM_ERR_STORE_NOT_EMPTY/);
    assert.ok(!existsSync(join(dir!.path, 'c', 'pki', 'ca.key')), 'no CA is made for a refused database');

    const sqliteDir = join(dir!.path, 'sqlite');
    assert.equal((await runBin(CONTROLLER_BIN, ['init', '--state-dir', sqliteDir, '--cluster', 'lite'])).code, 0);
    const wrong = await runBin(CONTROLLER_BIN, ['rotate-identity', '--state-dir', sqliteDir, '--store', db!.url]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /SWARM_ERR_STORE_MISMATCH/);
    assert.match(wrong.stderr, /swarm\.db, SQLite: leave --store out/);

    const bad = await runBin(CONTROLLER_BIN, ['serve', '--state-dir', stateDir, '--store', 'mysql://root:Hunter2@db/x']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--store: must be a PostgreSQL URL/);
    assert.doesNotMatch(bad.stderr, /Hunter2/);
  });
});
