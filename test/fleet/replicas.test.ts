// Controller replicas as real processes (DESIGN.md §9, docs/high-availability.md): three `swarm-controller serve
// --store postgres://` replicas A, B, C on one PostgreSQL server the test starts, sharing the PKI of one `init`, and
// real hosts (updater in spawn mode + agent) that joined and run with every replica's URL. A host removed on A has its
// channel on B closed within a second; A SIGKILLed mid-rollout, the rollout finishes under B or C with one update per
// host and both replicas show the same fleet; B frozen (SIGSTOP) past the lease TTL while driving, C takes the rollout
// over, and B thawed (SIGCONT) writes nothing more for it. The cases run in this order on one fleet (the second
// leaves A dead, the third needs only B and C).
//
// Who wrote what: each replica names itself in its --store URL (`application_name=replica-a`, which node-postgres
// passes to the server for the pool's sessions), and triggers the test installs record every write to the rollout
// tables with the writing session's application_name, in commit-independent order (a sequence). The lease row's
// holder (`host/pid/random`) names the driving replica's pid.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import pg from 'pg';
import type { RolloutJson } from '../../shared/rollout-api.js';
import { startPostgres, type PgServer, type TestDatabase } from '../helpers/postgres.js';
import { pollUntil } from '../helpers/wait.js';
import { startFleet, updateRecords, type Fleet, type FleetController, type FleetRelease } from './helpers.js';

const REPLICAS = ['replica-a', 'replica-b', 'replica-c'];
/** Hosts h1..h6 take part in the rollouts; h7 has B's URL only (its channel is on B) and is removed in the first case. */
const ROLLOUT_HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'];

interface Write { id: number; app: string; tbl: string; op: string; row: Record<string, unknown> }
interface HostListEntry { name: string; online: boolean; release: string | null; channels: { agent: boolean; updater: boolean } }

const RECORD_WRITES = `
  CREATE TABLE test_writes (
    id bigserial PRIMARY KEY,
    app text NOT NULL,
    tbl text NOT NULL,
    op text NOT NULL,
    rollout_id text,
    row jsonb NOT NULL
  );
  CREATE FUNCTION test_record_write() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    r jsonb := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
  BEGIN
    INSERT INTO test_writes (app, tbl, op, rollout_id, row)
      VALUES (current_setting('application_name'), TG_TABLE_NAME, TG_OP, COALESCE(r->>'rollout_id', r->>'id'), r);
    RETURN NULL;
  END $$;
  CREATE TRIGGER test_writes AFTER INSERT OR UPDATE OR DELETE ON rollouts FOR EACH ROW EXECUTE FUNCTION test_record_write();
  CREATE TRIGGER test_writes AFTER INSERT OR UPDATE OR DELETE ON rollout_hosts FOR EACH ROW EXECUTE FUNCTION test_record_write();
  CREATE TRIGGER test_writes AFTER INSERT OR UPDATE OR DELETE ON rollout_events FOR EACH ROW EXECUTE FUNCTION test_record_write();
  CREATE TRIGGER test_writes AFTER INSERT OR UPDATE OR DELETE ON rollout_leases FOR EACH ROW EXECUTE FUNCTION test_record_write();
`;

describe('fleet: controller replicas on PostgreSQL (processes)', function () {
  this.timeout(300_000);
  let server: PgServer | undefined;
  let db: TestDatabase | undefined;
  let watch: pg.Client | undefined;
  let fleet: Fleet;
  let v1: FleetRelease;
  let v2: FleetRelease;

  before(async function () {
    // Like every PostgreSQL test: fail (startPostgres says what to install), never skip.
    const t0 = performance.now();
    server = await startPostgres();
    db = await server.createDatabase();
    const t1 = performance.now();
    fleet = await startFleet({
      hosts: 7, controllers: 3, store: (i) => `${db!.url}?application_name=${REPLICAS[i]}`,
      hostControllers: (i, n) => (i === 6 ? [1] : Array.from({ length: n }, (_, k) => (i + k) % n)),
    });
    watch = new pg.Client({ connectionString: db.url, application_name: 'test' });
    watch.on('error', () => undefined);
    await watch.connect();
    await watch.query(RECORD_WRITES);
    // Both releases now, while A (where swarmctl uploads go) lives; stored in the database, any replica pushes them.
    v1 = await fleet.release('1.0.0');
    v2 = await fleet.release('2.0.0');
    console.log(`      (PostgreSQL ${Math.round(t1 - t0)} ms, 3 replicas and 7 hosts ${Math.round(performance.now() - t1)} ms with two releases uploaded)`);
  });
  afterEach(function () {
    // A failure says what each replica logged last (who held what, what it refused).
    if (this.currentTest?.state !== 'failed' || !fleet) return;
    for (const c of fleet.controllers) console.log(`--- replica ${c.name} (last lines) ---\n${c.logs().split('\n').slice(-40).join('\n')}`);
  });
  after(async () => {
    // REPLICA_LOGS=PREFIX keeps what each replica and host logged (PREFIX-A.log, PREFIX-h1.log, ...), to read a passing run.
    const keep = process.env.REPLICA_LOGS;
    if (keep && fleet) {
      for (const c of fleet.controllers) await writeFile(`${keep}-${c.name}.log`, c.logs());
      for (const h of fleet.hosts) await writeFile(`${keep}-${h.name}.log`, `${h.logs.join('\n')}\n`);
    }
    await fleet?.close();
    await watch?.end().catch(() => undefined);
    await db?.drop().catch(() => undefined);
    await server?.stop();
  });

  const writes = async (rollout: string, afterId = 0): Promise<Write[]> =>
    (await watch!.query<Write>('SELECT id::int, app, tbl, op, row FROM test_writes WHERE rollout_id = $1 AND id > $2 ORDER BY id', [rollout, afterId])).rows;
  const lease = async (rollout: string): Promise<{ holder: string | null; token: number }> => {
    const { rows } = await watch!.query<{ holder: string | null; token: string }>('SELECT holder, token FROM rollout_leases WHERE rollout_id = $1', [rollout]);
    assert.ok(rows[0], `a lease row for ${rollout}`);
    return { holder: rows[0].holder, token: Number(rows[0].token) };
  };
  /** Which replica a lease holder id (`host/pid/random`) is. */
  const replicaOf = (holder: string | null): FleetController | undefined => fleet.controllers.find((c) => holder?.split('/')[1] === String(c.pid()));
  const replicaApp = (c: FleetController): string => REPLICAS[fleet.controllers.indexOf(c)]!;

  /**
   * A rollout of `release` on h1..h6 started on `on`, awaited until a host succeeded and the next one's update runs on
   * its updater past the upload (step `installed`: the whole body arrived). A driver that dies or freezes mid-body
   * leaves a refused record besides the push sent again (test/fleet/cut-push.test.ts shows that case); here each host
   * must hold exactly one record, so the driver is stopped once the body is in.
   */
  const startAndAwaitMidRollout = async (on: number, release: FleetRelease, args: string[]): Promise<{ started: RolloutJson; mid: RolloutJson; pushing: string }> => {
    const started = await fleet.at(on).startRollout(release.id, ['--hosts', ROLLOUT_HOSTS.join(','), ...args]);
    let pushing = '';
    const mid = await fleet.at(on).awaitRollout(started.id, 'a host done and the next one\'s update installed and running on its updater', async (r) => {
      if (!['canary', 'rolling'].includes(r.state) || !r.hosts.some((h) => h.state === 'succeeded')) return false;
      const next = r.hosts.find((h) => h.state === 'pushing');
      if (!next) return false;
      const [record] = await updateRecords(fleet, next.name, release.id);
      pushing = next.name;
      return record?.state === 'running' && record.steps.some((x) => x.step === 'installed');
    }, 120_000);
    return { started, mid, pushing };
  };

  /** Every rollout host succeeded, each updater ran exactly one update for the release, and each was pushed once. */
  const assertOneUpdateEach = async (done: RolloutJson, release: FleetRelease): Promise<void> => {
    assert.equal(done.state, 'done');
    assert.deepEqual(done.hosts.map((h) => [h.name, h.state]), ROLLOUT_HOSTS.map((n) => [n, 'succeeded']));
    for (const name of ROLLOUT_HOSTS) {
      const records = await updateRecords(fleet, name, release.id);
      assert.equal(records.length, 1, `${name}: exactly one update operation for ${release.version}, found ${records.map((r) => `${r.id} ${r.state}`).join(', ')}`);
      assert.equal(records[0]!.state, 'committed', `${name}'s update committed`);
      assert.equal((await fleet.updaterHealth(name)).active?.id, release.id, `${name} runs ${release.version}`);
      assert.equal(done.events.filter((e) => e.type === 'host-pushing' && e.host === name).length, 1, `${name} was pushed once (a host found pushing after the takeover is settled from its records)`);
    }
  };

  it('a host removed on A has its channel on B closed within a second', async () => {
    const h7 = fleet.host('h7');
    const b = fleet.controllers[1]!;
    assert.deepEqual(h7.controllers, [b.url], 'h7 knows B only');
    const before = await fleet.at(0).api<HostListEntry[]>('/v1/hosts');
    assert.ok(before.find((h) => h.name === 'h7')?.channels.updater, 'A sees h7\'s updater channel, held by B');
    const closed = h7.logs.length;
    const removed = await fleet.at(0).swarmctl(['host', 'remove', 'h7']);
    assert.equal(removed.code, 0, removed.stderr);
    // A answers right after its audit entry (the revocation and its notice come before it): its time is A's answer.
    const { rows: [audit] } = await watch!.query<{ at: string }>('SELECT at FROM audit_log WHERE action = $1 AND target = $2', ['host.remove', 'h7']);
    assert.ok(audit, 'A audited the removal');
    const answeredAt = Number(audit.at);
    // The updater logs its channel's close with the code (4003 revoked); its `time` (ISO, ms) is this machine's clock.
    const line = await pollUntil('h7\'s updater to log its channel on B closed (4003)', () => {
      const found = h7.logs.slice(closed).find((l) => l.includes('channel closed (4003'));
      return found ? Promise.resolve(found) : Promise.resolve(undefined);
    }, { timeoutMs: 10_000, everyMs: 20 });
    const at = Date.parse((JSON.parse(line) as { time: string }).time);
    assert.ok(at - answeredAt < 1_000, `closed ${at - answeredAt} ms after A's answer (at most 1 s)`);
    assert.ok(line.includes(`cannot reach the controller at ${b.url}:`), `the channel closed was B's: ${line}`);
    console.log(`      (h7's channel on B closed ${at - answeredAt} ms after A answered the removal)`);
  });

  it('failover mid-rollout: A SIGKILLed, the rollout finishes under B or C, one update per host, the same fleet on B and C', async () => {
    const [a, b, c] = fleet.controllers as [FleetController, FleetController, FleetController];
    const { started, pushing } = await startAndAwaitMidRollout(0, v1, ['--canary', '1', '--batch', '2', '--max-parallel', '1']);
    assert.equal(replicaOf((await lease(started.id)).holder), a, 'A drives the rollout it started');
    const killedAt = performance.now();
    await a.signal('SIGKILL');

    const done = await fleet.at(1).awaitRollout(started.id, 'the rollout to finish under B or C', (r) => r.state === 'done', 120_000);
    const tookMs = Math.round(performance.now() - killedAt);
    await assertOneUpdateEach(done, v1);
    const after = await lease(started.id);
    assert.ok(after.token >= 2, `the lease was granted again (token ${after.token})`);
    const eventWrites = (await writes(started.id)).filter((w) => w.tbl === 'rollout_events');
    const drivers = new Set(eventWrites.map((w) => w.app));
    const finisher = eventWrites.find((w) => w.row.type === 'done')?.app;
    assert.ok(drivers.has('replica-a') && (drivers.has('replica-b') || drivers.has('replica-c')), `events written by A, then by B or C: ${[...drivers].join(', ')}`);
    const lost = done.events.find((e) => e.type === 'host-succeeded' && e.host === pushing);
    assert.ok(lost, `${pushing}, in flight when A died, settled as succeeded`);

    // B and C show the same fleet: names, online, the release each host runs (reports are written behind: poll).
    const view = (list: HostListEntry[]) => list.map((h) => ({ name: h.name, online: h.online, release: h.release }));
    const expected = ROLLOUT_HOSTS.map((name) => ({ name, online: true, release: v1.id }));
    await pollUntil('B and C to show every host online on 1.0.0', async () => {
      const [lb, lc] = await Promise.all([fleet.at(1).api<HostListEntry[]>('/v1/hosts'), fleet.at(2).api<HostListEntry[]>('/v1/hosts')]);
      return JSON.stringify(view(lb)) === JSON.stringify(expected) && JSON.stringify(view(lc)) === JSON.stringify(expected) ? true : undefined;
    }, { timeoutMs: 20_000, everyMs: 200, retryErrors: true });
    const [onB, onC] = await Promise.all([fleet.at(1).swarmctlJson<HostListEntry[]>(['host', 'list']), fleet.at(2).swarmctlJson<HostListEntry[]>(['host', 'list'])]);
    assert.deepEqual(view(onB), expected, 'swarmctl host list on B');
    assert.deepEqual(view(onC), view(onB), 'swarmctl host list on C: the same as on B');
    const status = await fleet.at(1).swarmctlJson<RolloutJson>(['rollout', 'status', started.id]);
    assert.equal(status.state, 'done', 'swarmctl rollout status on B');
    console.log(`      (A killed mid-push of ${pushing}; the rollout was done ${tookMs} ms later under ${finisher}; ${[b, c].map((x) => x.name).join(' and ')} agree)`);
  });

  it('lost lease: B frozen (SIGSTOP) past the TTL while driving, C takes the rollout over, B thawed writes nothing more for it', async () => {
    const [, b, c] = fleet.controllers as [FleetController, FleetController, FleetController];
    const { started, pushing } = await startAndAwaitMidRollout(1, v2, ['--canary', '1', '--batch', '1', '--max-parallel', '1']);
    const held = await lease(started.id);
    assert.equal(replicaOf(held.holder), b, 'B drives the rollout it started');
    const bWrites = (await writes(started.id)).filter((w) => w.app === replicaApp(b));
    assert.ok(bWrites.length > 0, 'B wrote the rollout\'s steps before it froze');
    const frozenAt = performance.now();
    await b.signal('SIGSTOP');

    // C is granted the lease once it expired on C's clock: a larger token, C's holder id.
    const takeover = await pollUntil('C to take the rollout\'s lease over', async () => {
      const grant = (await writes(started.id)).find((w) => w.tbl === 'rollout_leases' && Number(w.row.token) > held.token);
      return grant;
    // Expected within the TTL plus a poll (about 12 s); bounded by what a B frozen inside a transaction can hold a lock
    // C needs: store.postgres.idle-in-transaction-timeout (60 s), after which the server ends B's session.
    }, { timeoutMs: 80_000, everyMs: 100 });
    const takeoverMs = Math.round(performance.now() - frozenAt);
    assert.equal(takeover.app, replicaApp(c), 'C took it');
    assert.equal(replicaOf(takeover.row.holder as string), c);
    await b.signal('SIGCONT');
    // B's next renewal (its timer is overdue) or its push's outcome write is refused; it says so and stops.
    await pollUntil('B to log that it lost the rollout\'s lease', () => Promise.resolve(b.logs().includes('lost the rollout\'s lease') ? true : undefined), { timeoutMs: 15_000, everyMs: 50 });

    const done = await fleet.at(2).awaitRollout(started.id, 'the rollout to finish under C', (r) => r.state === 'done', 120_000);
    await assertOneUpdateEach(done, v2);
    const late = (await writes(started.id, takeover.id)).filter((w) => w.app !== replicaApp(c));
    assert.deepEqual(late.map((w) => `${w.app} ${w.op} ${w.tbl} ${JSON.stringify(w.row)}`), [], 'after C\'s grant only C wrote for the rollout');
    const final = await lease(started.id);
    assert.equal(final.token, Number(takeover.row.token), 'nobody was granted the lease after C');
    assert.ok(done.events.some((e) => e.type === 'host-succeeded' && e.host === pushing), `${pushing}, in flight when B froze, settled as succeeded`);
    console.log(`      (B frozen mid-push of ${pushing}; C held the lease ${takeoverMs} ms later)`);
  });
});
