// The rollout routes over real mTLS against the in-memory RolloutService: validation, codes, audit, the event
// page and the live stream (resume by Last-Event-ID, heartbeat, a client that does not read is cut).
import assert from 'node:assert/strict';
import { request, type Agent } from 'undici';
import { FleetRollbackReportSchema, RolloutPlanSchema, RolloutSchema, RolloutSummarySchema } from '../../../shared/rollout-api.js';
import { FakeRolloutService } from '../../helpers/fake-rollouts.js';
import { mintIdentity } from '../../helpers/pki.js';
import { openSse } from '../../helpers/sse.js';
import { call, clientFor, startInProcessController, type InProcessController } from '../helpers.js';

const R1 = 'a1'.repeat(32);
const R2 = 'b2'.repeat(32);
const R3 = 'b2'.repeat(4) + 'c3'.repeat(28);

function fakeService(): FakeRolloutService {
  return new FakeRolloutService({
    releases: [{ id: R1, version: '1.0.0' }, { id: R2, version: '2.0.0' }, { id: R3, version: '2.0.1' }],
    hosts: ['h1', 'h2', 'h3', 'h4', 'h5'].map((name, i) => ({ name, release: i === 4 ? R2 : R1, labels: { site: i < 2 ? 'lab' : 'field' } })),
  });
}

describe('rollout routes (fake service, real mTLS)', function () {
  this.timeout(30_000);
  let ctl: InProcessController;
  let fake: FakeRolloutService;
  let op: Agent;
  let url: string;

  before(async () => {
    fake = fakeService();
    ctl = await startInProcessController({ rollouts: fake, rolloutRoutes: { stream: { heartbeatMs: 200 } } });
    const admin = await mintIdentity('operator', 'alice');
    op = clientFor(admin.ca, admin.material);
    url = ctl.url;
  });
  after(async () => {
    await op?.close();
    await ctl?.close();
  });

  const start = async (body: Record<string, unknown> = {}): Promise<Record<string, unknown>> => {
    const r = await call(op, `${url}/v1/rollouts`, 'POST', { release: '2.0.0', targets: { all: true }, ...body });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
  };

  it('plans without changing anything, and names the field of a bad body', async () => {
    const plan = await call(op, `${url}/v1/rollouts/plan`, 'POST', { release: '2.0.0', targets: { all: true }, strategy: { canary: 1, batch: { count: 2 } } });
    assert.equal(plan.status, 200, JSON.stringify(plan.body));
    const p = RolloutPlanSchema.parse(plan.body);
    assert.deepEqual(p.waves, [['h1'], ['h2', 'h3'], ['h4']]);
    assert.deepEqual(p.skipped, ['h5']);
    assert.equal(fake.calls.some((c) => c.method === 'start'), false);
    for (const [body, field] of [
      [{ release: '2.0.0' }, /targets/],
      [{ release: '2.0.0', targets: { all: true }, strategy: { canary: -1 } }, /strategy\.canary/],
      [{ release: '2.0.0', targets: { all: true, hosts: ['h1'] } }, /targets/],
      [{ release: '2.0.0', targets: { all: true }, extra: 1 }, /extra|Unrecognized/i],
    ] as const) {
      const bad = await call(op, `${url}/v1/rollouts/plan`, 'POST', body);
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.equal(bad.body.code, 'SWARM_ERR_BAD_REQUEST');
      assert.match(bad.body.message!, field);
    }
  });

  it('answers the service\'s release errors with their codes (404 not found, 409 ambiguous)', async () => {
    const missing = await call(op, `${url}/v1/rollouts`, 'POST', { release: '9.9.9', targets: { all: true } });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'SWARM_ERR_RELEASE_NOT_FOUND');
    const ambiguous = await call(op, `${url}/v1/rollouts/plan`, 'POST', { release: 'b2b2b2b2', targets: { all: true } });
    assert.equal(ambiguous.status, 409);
    assert.equal(ambiguous.body.code, 'SWARM_ERR_RELEASE_AMBIGUOUS');
  });

  it('starts a rollout (201, the rollout document, audited under the operator), lists and shows it', async () => {
    const body = await start({ strategy: { canary: 1, batch: { percent: 50 } } });
    const r = RolloutSchema.parse(body);
    assert.equal(r.version, '2.0.0');
    assert.equal(r.createdBy, 'spiffe://test/operator/alice');
    assert.deepEqual(fake.calls.find((c) => c.method === 'start')?.args[1], 'spiffe://test/operator/alice');
    const audit = await ctl.store.listAudit({ order: 'desc', limit: 5 });
    const entry = audit.find((a) => a.action === 'rollout.start' && a.target === r.id);
    assert.ok(entry, 'rollout.start audited');
    assert.equal(entry.actor, 'spiffe://test/operator/alice');
    assert.deepEqual(entry.details.targets, { all: true });
    const list = await call(op, `${url}/v1/rollouts`);
    assert.equal(list.status, 200);
    const summaries = RolloutSummarySchema.array().parse(list.body);
    assert.ok(summaries.some((s) => s.id === r.id));
    const one = await call(op, `${url}/v1/rollouts/${r.id}`);
    assert.equal(RolloutSchema.parse(one.body).id, r.id);
    const none = await call(op, `${url}/v1/rollouts/nosuch`);
    assert.equal(none.status, 404);
    assert.equal(none.body.code, 'SWARM_ERR_ROLLOUT_NOT_FOUND');
    const badId = await call(op, `${url}/v1/rollouts/${encodeURIComponent('a b')}`);
    assert.equal(badId.status, 400);
  });

  it('pauses, resumes (with a new budget) and aborts, auditing each; refuses to pause a done rollout (409)', async () => {
    const id = String((await start()).id);
    const paused = await call(op, `${url}/v1/rollouts/${id}/pause`, 'POST', {});
    assert.equal(paused.status, 200);
    assert.deepEqual([paused.body.state, paused.body.reason], ['paused', 'operator']);
    const resumed = await call(op, `${url}/v1/rollouts/${id}/resume`, 'POST', { maxFailures: { percent: 20 } });
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    assert.deepEqual(fake.calls.filter((c) => c.method === 'resume').at(-1)?.args, [id, 'spiffe://test/operator/alice', { percent: 20 }]);
    const badResume = await call(op, `${url}/v1/rollouts/${id}/resume`, 'POST', { maxFailures: '20%' });
    assert.equal(badResume.status, 400);
    const aborted = await call(op, `${url}/v1/rollouts/${id}/abort`, 'POST', {});
    assert.equal(aborted.body.state, 'aborted');
    const again = await call(op, `${url}/v1/rollouts/${id}/pause`, 'POST', {});
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'SWARM_ERR_ROLLOUT_STATE');
    const missing = await call(op, `${url}/v1/rollouts/nosuch/abort`, 'POST', {});
    assert.equal(missing.status, 404);
    const actions = (await ctl.store.listAudit({ order: 'asc', limit: 1000 })).filter((a) => a.target === id).map((a) => a.action);
    assert.deepEqual(actions, ['rollout.start', 'rollout.pause', 'rollout.resume', 'rollout.abort']);
  });

  it('pages events in order after a seq', async () => {
    const id = String((await start()).id);
    await fake.drive(id);
    const all = await call(op, `${url}/v1/rollouts/${id}/events`);
    const events = all.body as unknown as Array<{ seq: number; type: string }>;
    assert.deepEqual(events.map((e) => e.seq), events.map((_e, i) => i + 1));
    assert.equal(events.at(-1)!.type, 'done');
    const later = await call(op, `${url}/v1/rollouts/${id}/events?after=3`);
    assert.deepEqual((later.body as unknown as Array<{ seq: number }>).map((e) => e.seq), events.slice(3).map((e) => e.seq));
    const bad = await call(op, `${url}/v1/rollouts/${id}/events?after=-1`);
    assert.equal(bad.status, 400);
  });

  it('streams events as SSE: backlog then live, id = seq, resumes after Last-Event-ID without repeats, heartbeats', async () => {
    const id = String((await start()).id);
    fake.setHost(id, 'h1', 'pushing');
    const s1 = await openSse(`${url}/v1/rollouts/${id}/events/stream`, op);
    assert.equal(s1.status, 200);
    assert.match(String(s1.headers['content-type']), /^text\/event-stream/);
    await s1.until('the backlog', (f) => f.filter((x) => x.data).length >= 2);
    fake.setHost(id, 'h1', 'succeeded');
    const frames = await s1.until('a live event', (f) => f.some((x) => x.data?.includes('host-succeeded')));
    const data = frames.filter((f) => f.data).map((f) => JSON.parse(f.data!) as { seq: number; rollout: string; type: string });
    assert.deepEqual(data.map((d) => d.seq), [1, 2, 3]);
    assert.deepEqual(frames.filter((f) => f.data).map((f) => f.id), ['1', '2', '3']);
    assert.ok(data.every((d) => d.rollout === id));
    await s1.until('a heartbeat', (f) => f.some((x) => x.comment === 'heartbeat'));
    s1.close();
    // The client missed seq 4 and 5 while away: a reconnect with Last-Event-ID 3 gets exactly those, then live ones.
    fake.setHost(id, 'h2', 'pushing');
    fake.setHost(id, 'h2', 'failed', { code: 'SWARM_ERR_TAR_UNSAFE_PATH', message: 'entry ../x leaves the release' });
    const s2 = await openSse(`${url}/v1/rollouts/${id}/events/stream`, op, { 'last-event-id': '3' });
    await s2.until('the missed events', (f) => f.filter((x) => x.data).length >= 2);
    fake.setState(id, 'paused', 'budget-exceeded');
    const resumed = await s2.until('the pause', (f) => f.some((x) => x.data?.includes('"paused"')));
    assert.deepEqual(resumed.filter((f) => f.data).map((f) => f.id), ['4', '5', '6']);
    s2.close();
    const bad = await call(op, `${url}/v1/rollouts/${id}/events/stream?after=x`);
    assert.equal(bad.status, 400);
    const none = await call(op, `${url}/v1/rollouts/nosuch/events/stream`);
    assert.equal(none.status, 404);
    assert.equal(none.body.code, 'SWARM_ERR_ROLLOUT_NOT_FOUND');
  });

  it('streams every rollout\'s live events on /v1/events/stream (id ROLLOUT:SEQ) and unsubscribes when the client leaves', async () => {
    const before = fake.listenerCount;
    const s = await openSse(`${url}/v1/events/stream`, op);
    await s.until('the open comment', (f) => f.some((x) => x.comment === 'stream open'));
    const a = String((await start()).id);
    const b = String((await start()).id);
    const frames = await s.until('both rollouts started', (f) => f.filter((x) => x.data?.includes('"started"')).length >= 2);
    assert.deepEqual(frames.filter((f) => f.data).map((f) => f.id), [`${a}:1`, `${b}:1`]);
    assert.equal(fake.listenerCount, before + 1);
    s.close();
    for (let i = 0; i < 100 && fake.listenerCount !== before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(fake.listenerCount, before, 'the stream unsubscribed when its client went away');
  });

  it('disconnects a stream client that does not read instead of buffering for it', async () => {
    const small = fakeService();
    const c = await startInProcessController({ rollouts: small, rolloutRoutes: { stream: { maxBufferedBytes: 64 * 1024 } } });
    try {
      const r = RolloutSchema.parse((await call(op, `${c.url}/v1/rollouts`, 'POST', { release: '2.0.0', targets: { all: true } })).body);
      const res = await request(`${c.url}/v1/rollouts/${r.id}/events/stream`, { dispatcher: op });
      assert.equal(res.statusCode, 200);
      // The body is never read: undici stops reading the socket, the kernel buffers fill, then the server's queue grows.
      const big = 'x'.repeat(16 * 1024);
      let ended = false;
      res.body.on('error', () => (ended = true));
      res.body.on('close', () => (ended = true));
      for (let i = 0; i < 4000 && small.listenerCount > 0; i++) {
        small.emit(r.id, { type: 'note', message: big });
        if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal(small.listenerCount, 0, 'the slow client was cut and unsubscribed');
      res.body.destroy();
      assert.ok(ended || res.body.destroyed);
    } finally {
      await c.close();
    }
  });

  it('fleet rollback: validates the body, returns the report, audits who and which hosts', async () => {
    const id = String((await start()).id);
    for (const body of [{}, { all: true, hosts: ['h1'] }, { hosts: [] }, { all: true, parallel: 0 }]) {
      const bad = await call(op, `${url}/v1/rollback`, 'POST', body);
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.equal(bad.body.code, 'SWARM_ERR_BAD_REQUEST');
    }
    fake.rollbackOutcome = { h2: { state: 'unreachable', release: R1, error: { code: 'SWARM_ERR_HOST_UNREACHABLE', message: 'connect ECONNREFUSED' } } };
    const r = await call(op, `${url}/v1/rollback`, 'POST', { hosts: ['h1', 'h2'], parallel: 8 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const report = FleetRollbackReportSchema.parse(r.body);
    assert.deepEqual(report.hosts.map((h) => [h.name, h.state]), [['h1', 'rolled-back'], ['h2', 'unreachable']]);
    assert.ok(report.pausedRollouts.includes(id));
    assert.deepEqual(fake.calls.filter((c) => c.method === 'rollback').at(-1)?.args, [{ hosts: ['h1', 'h2'], parallel: 8 }, 'spiffe://test/operator/alice']);
    const entry = (await ctl.store.listAudit({ order: 'desc', limit: 5 })).find((a) => a.action === 'rollback');
    assert.ok(entry);
    assert.equal(entry.target, 'h1,h2');
    assert.deepEqual((entry.details.hosts as Array<{ name: string }>).map((h) => h.name), ['h1', 'h2']);
  });

  it('refuses non-operators (403); a controller built without a fake serves its own engine (no release: 404)', async () => {
    const agent = await mintIdentity('agent', 'h1');
    const asAgent = clientFor(agent.ca, agent.material);
    try {
      const r = await call(asAgent, `${url}/v1/rollouts`);
      assert.equal(r.status, 403);
      assert.equal(r.body.code, 'SWARM_ERR_AUTH_FORBIDDEN');
    } finally {
      await asAgent.close();
    }
    const bare = await startInProcessController();
    try {
      const list = await call(op, `${bare.url}/v1/rollouts`);
      assert.equal(list.status, 200);
      assert.deepEqual(list.body, []);
      const r = await call(op, `${bare.url}/v1/rollouts`, 'POST', { release: '9.9.9', targets: { all: true } });
      assert.equal(r.status, 404);
      assert.equal(r.body.code, 'SWARM_ERR_RELEASE_NOT_FOUND');
    } finally {
      await bare.close();
    }
  });

  it('closes open streams when the controller closes', async () => {
    const other = fakeService();
    const c = await startInProcessController({ rollouts: other });
    const r = RolloutSchema.parse((await call(op, `${c.url}/v1/rollouts`, 'POST', { release: '2.0.0', targets: { all: true } })).body);
    const s = await openSse(`${c.url}/v1/rollouts/${r.id}/events/stream`, op);
    await s.until('the backlog', (f) => f.some((x) => x.data));
    await c.close();
    await s.ended;
    assert.equal(other.listenerCount, 0);
  });
});
