// Two controllers (in-process apps, real TLS) on one PostgreSQL database: a revocation on one reaches the channels,
// sockets and denylist of the other within a second, and both show the same fleet, online state and channels included.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request, type Agent } from 'undici';
import { startChannelClient, type ChannelClient } from '../../controller-client/channel-client.js';
import { controllerFleet } from '../../controller/rollout/fleet-source.js';
import { chunkNotice, readChunk } from '../../controller/store/postgres-notify.js';
import { openPostgresStore } from '../../controller/store/index.js';
import { silentLogger } from '../../shared/logger.js';
import { mintIdentity, type TestIdentity } from '../helpers/pki.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';
import { agentHealth, call, clientFor, enrollDirectly, startInProcessController, updaterStatus, waitFor, type InProcessController } from './helpers.js';

describe('controller replicas on one PostgreSQL database (two in-process controllers)', function () {
  this.timeout(60_000);
  let server: PgServer | undefined;
  let a: InProcessController;
  let b: InProcessController;
  let admin: TestIdentity;
  const closers: Array<() => Promise<unknown>> = [];

  before(async function () {
    this.timeout(120_000);
    server = await startPostgres();
    admin = await mintIdentity('operator', 'ops');
  });
  after(async () => {
    await server?.stop();
  });
  beforeEach(async () => {
    const { url } = await server!.createDatabase();
    // A long heartbeat: the reports the test compares do not change under it.
    // A short re-read interval: the fallback case below waits for one.
    const deps = async () => ({ store: await openPostgresStore(url), heartbeatMs: 60_000, replicas: { revocationPollMs: 200 } });
    a = await startInProcessController(await deps());
    b = await startInProcessController(await deps());
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await a.close();
    await b.close();
  });

  /** A host enrolled with its agent and updater certificates recorded (through A: one database). */
  async function enrollHost(name: string): Promise<{ agent: TestIdentity; updater: TestIdentity }> {
    const agent = await mintIdentity('agent', name, { freshKey: true });
    const updater = await mintIdentity('updater', name, { freshKey: true });
    await enrollDirectly(a.store, name);
    for (const id of [agent, updater]) {
      await a.store.recordCertificate({ serial: id.serial, role: id.material.identity.role, name, notBefore: 0, notAfter: id.material.notAfter, issuedAt: Date.now() });
    }
    return { agent, updater };
  }

  /** A channel client on `url`; resolves once connected, with a promise of its first disconnect. */
  async function openChannel(url: string, role: 'agent' | 'updater', id: TestIdentity): Promise<{ client: ChannelClient; closed: Promise<{ code: number; at: number }> }> {
    let connected!: () => void;
    let disconnected!: (info: { code: number; at: number }) => void;
    const up = new Promise<void>((resolve) => (connected = resolve));
    const closed = new Promise<{ code: number; at: number }>((resolve) => (disconnected = resolve));
    const client = startChannelClient({
      controllerUrl: url, role, material: () => id.material, logger: silentLogger(), backoffBaseMs: 50, backoffCapMs: 100,
      report: () => (role === 'agent' ? agentHealth('b'.repeat(64), '2.0.0') : updaterStatus('b'.repeat(64), '2.0.0')),
      onConnect: () => connected(),
      onDisconnect: (info) => disconnected({ code: info.code, at: Date.now() }),
    });
    closers.push(() => client.close());
    await Promise.race([up, new Promise((_, reject) => setTimeout(() => reject(new Error(`the ${role} channel to ${url} did not open in 10 s`)), 10_000).unref())]);
    return { client, closed };
  }

  const dispatcher = (id: TestIdentity): Agent => {
    const d = clientFor(id.ca, id.material);
    closers.push(() => d.close());
    return d;
  };

  it('a host removed on A has its channels on B closed within 1 s, and its certificates refused by both', async () => {
    const { agent, updater } = await enrollHost('rm1');
    const agentChannel = await openChannel(b.url, 'agent', agent);
    const updaterChannel = await openChannel(b.url, 'updater', updater);
    const ops = dispatcher(admin);
    // Before the removal B takes the agent's certificate (a renewal with a bad body is a 400, not a refusal).
    assert.equal((await call(dispatcher(agent), `${b.url}/v1/pki/renew`, 'POST', { csr: 'not a csr' })).status, 400);

    const res = await call(ops, `${a.url}/v1/hosts/rm1`, 'DELETE');
    const answeredAt = Date.now();
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const deadline = (what: string) => new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} on B still open 2 s after the removal on A`)), 2_000).unref());
    const [agentClosed, updaterClosed] = await Promise.all([
      Promise.race([agentChannel.closed, deadline('the agent channel')]),
      Promise.race([updaterChannel.closed, deadline('the updater channel')]),
    ]);
    for (const [role, closed] of [['agent', agentClosed], ['updater', updaterClosed]] as const) {
      assert.ok(closed.at - answeredAt < 1000, `the ${role} channel on B closed ${closed.at - answeredAt} ms after A answered`);
      assert.equal(closed.code, 4003, `the ${role} channel closed as revoked`);
    }
    assert.equal(b.context.hub.isOpen('agent', 'rm1'), false);
    // New connections with its certificates are refused by both replicas, renewals included.
    for (const [replica, ctl] of [['A', a], ['B', b]] as const) {
      for (const id of [agent, updater]) {
        const renew = await call(dispatcher(id), `${ctl.url}/v1/pki/renew`, 'POST', { csr: 'not a csr' });
        assert.equal(renew.status, 403, `${replica} refuses the ${id.material.identity.role}'s renewal`);
        assert.equal(renew.body.code, 'SWARM_ERR_AUTH_REVOKED');
      }
    }
  });

  it('an operator removed on A is cut from B and refused there at once', async () => {
    const bob = await mintIdentity('operator', 'bob', { freshKey: true });
    await a.store.recordCertificate({ serial: bob.serial, role: 'operator', name: 'bob', notBefore: 0, notAfter: bob.material.notAfter, issuedAt: Date.now() });
    const asBob = dispatcher(bob);
    assert.equal((await call(asBob, `${b.url}/v1/hosts`)).status, 200, 'bob works on B before');
    // Bob's live connection to B is cut when B hears of the removal: an event to await, not a race with a request.
    const cut = once(asBob, 'disconnect');
    const res = await call(dispatcher(admin), `${a.url}/v1/operators/bob`, 'DELETE');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const answeredAt = Date.now();
    await Promise.race([cut, new Promise((_, reject) => setTimeout(() => reject(new Error('B did not cut bob\'s connection within 2 s')), 2_000).unref())]);
    assert.ok(Date.now() - answeredAt < 1000, `B cut bob ${Date.now() - answeredAt} ms after A answered`);
    const refused = await call(asBob, `${b.url}/v1/hosts`);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'SWARM_ERR_AUTH_REVOKED');
  });

  it('a revocation whose notice never came (written to the database directly) reaches B by its periodic re-read', async () => {
    const carol = await mintIdentity('operator', 'carol', { freshKey: true });
    await a.store.recordCertificate({ serial: carol.serial, role: 'operator', name: 'carol', notBefore: 0, notAfter: carol.material.notAfter, issuedAt: Date.now() });
    const asCarol = dispatcher(carol);
    assert.equal((await call(asCarol, `${b.url}/v1/hosts`)).status, 200);
    const cut = once(asCarol, 'disconnect');
    await a.store.revokeIdentity('operator', 'carol', Date.now());
    await Promise.race([cut, new Promise((_, reject) => setTimeout(() => reject(new Error('B did not cut carol within 5 s of the revocation')), 5_000).unref())]);
    assert.equal((await call(asCarol, `${b.url}/v1/hosts`)).body.code, 'SWARM_ERR_AUTH_REVOKED');
  });

  it('host list, fleet status and the rollout engine\'s fleet are the same on A as on B for a host whose channels are on B', async () => {
    const { agent, updater } = await enrollHost('on-b');
    await enrollHost('silent');
    const channels = [await openChannel(b.url, 'agent', agent), await openChannel(b.url, 'updater', updater)];
    await waitFor('both reports at B', async () => (b.context.reports.get('on-b')?.agent && b.context.reports.get('on-b')?.updater ? true : undefined));
    // What the intervals do by themselves (reports.flush every 2 s, presence every 1 s), done now instead of waited for.
    await b.context.reports.flush();
    await b.context.presence.sync();
    await a.context.presence.sync();

    const ops = dispatcher(admin);
    // /metrics first (nothing on A has read the stored reports yet): hosts online is the fleet's on every replica; channels open are each replica's own.
    const metric = async (url: string, name: string): Promise<string[]> => {
      const res = await request(`${url}/metrics`, { dispatcher: ops });
      const text = await res.body.text();
      return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'gm'))].map((m) => m[1]!);
    };
    assert.deepEqual([await metric(a.url, 'swarm_hosts_online'), await metric(b.url, 'swarm_hosts_online')], [['1'], ['1']]);
    assert.deepEqual([await metric(a.url, 'swarm_channels_open'), await metric(b.url, 'swarm_channels_open')], [['0', '0'], ['1', '1']]);
    const [listA, listB] = [await call(ops, `${a.url}/v1/hosts`), await call(ops, `${b.url}/v1/hosts`)];
    assert.equal(listA.status, 200);
    assert.deepEqual(listA.body, listB.body, 'the same host list from both replicas');
    const hosts = listA.body as unknown as Array<{ name: string; online: boolean; release: string | null; channels: { agent: boolean; updater: boolean }; agent: unknown }>;
    const onB = hosts.find((h) => h.name === 'on-b')!;
    assert.equal(onB.online, true);
    assert.deepEqual(onB.channels, { agent: true, updater: true });
    assert.equal(onB.release, 'b'.repeat(64));
    assert.notEqual(onB.agent, null);
    assert.deepEqual(hosts.find((h) => h.name === 'silent')!.channels, { agent: false, updater: false });

    const [showA, showB] = [await call(ops, `${a.url}/v1/hosts/on-b`), await call(ops, `${b.url}/v1/hosts/on-b`)];
    assert.deepEqual(showA.body, showB.body, 'the same host detail from both replicas');
    const [statusA, statusB] = [await call(ops, `${a.url}/v1/status`), await call(ops, `${b.url}/v1/status`)];
    assert.deepEqual(statusA.body, statusB.body, 'the same fleet summary from both replicas');
    assert.deepEqual((statusA.body as { channels: unknown }).channels, { agent: 1, updater: 1 });

    // A may drive a rollout to the host: its updater counts as online there (pushes go to the updater directly).
    const fleet = controllerFleet({
      store: a.store, reports: a.context.reports, hub: a.context.hub, presence: a.context.presence, clock: a.context.clock, offlineTimeoutMs: a.context.settings.offlineTimeoutMs,
    });
    const seen = (await fleet.list()).find((h) => h.name === 'on-b')!;
    assert.equal(seen.updaterOnline, true);
    assert.equal(seen.release, 'b'.repeat(64));

    // The channel moves away (closed on B): A no longer shows it once B recorded that.
    for (const c of channels) await c.client.close();
    await waitFor('B to see both channels closed', async () => (b.context.hub.counts().agent + b.context.hub.counts().updater === 0 ? true : undefined), 5_000);
    await b.context.presence.sync();
    await a.context.presence.sync();
    const after = (await call(ops, `${a.url}/v1/hosts`)).body as unknown as typeof hosts;
    assert.deepEqual(after.find((h) => h.name === 'on-b')!.channels, { agent: false, updater: false });
  });
});

describe('revocation notices between replicas (NOTIFY payloads)', () => {
  it('splits many serials into payloads under the NOTIFY limit, each naming the origin and the host', () => {
    const serials = Array.from({ length: 700 }, (_, i) => i.toString(16).padStart(32, '0'));
    const chunks = chunkNotice({ origin: 'ctl-1/42/abc', host: 'h1', serials });
    assert.ok(chunks.length > 1);
    for (const c of chunks) assert.ok(Buffer.byteLength(c) <= 7_900, `${Buffer.byteLength(c)} bytes`);
    const read = chunks.map(readChunk);
    assert.deepEqual(read.flatMap((n) => n.serials), serials);
    for (const n of read) assert.deepEqual([n.origin, n.host], ['ctl-1/42/abc', 'h1']);
    assert.deepEqual(chunkNotice({ origin: 'o', serials: ['0a'] }).map(readChunk), [{ origin: 'o', serials: ['0a'] }]);
    assert.throws(() => readChunk('{"o":"x","s":["not hex"]}'), /unreadable revocation notice/);
  });
});
