// The per-channel report budget: a flooding host is dropped, then disconnected; our own clients never hit it (hardening item 8).
import assert from 'node:assert/strict';
import { pino } from 'pino';
import WebSocket from 'ws';
import { defaultBudgetPolicy, freshBudget, spendReport, type BudgetVerdict } from '../../controller/channel-budget.js';
import { startChannelClient } from '../../controller-client/channel-client.js';
import { CLOSE_CODES } from '../../shared/channel-protocol.js';
import { checkServerIdentity } from '../../shared/tls.js';
import { mintIdentity } from '../helpers/pki.js';
import { agentHealth, enrollDirectly, startInProcessController } from './helpers.js';

describe('report budget (pure)', () => {
  const policy = { perHeartbeat: 4, burst: 8, droppedBeforeClose: 16, heartbeatMs: 1000 };

  it('accepts the burst, drops past it, closes past the drop threshold', () => {
    let budget = freshBudget(policy, 0);
    const verdicts: BudgetVerdict[] = [];
    for (let i = 0; i < 25; i++) {
      const r = spendReport(budget, 0, policy);
      budget = r.budget;
      verdicts.push(r.verdict);
    }
    assert.deepEqual(verdicts, [...Array<BudgetVerdict>(8).fill('accept'), ...Array<BudgetVerdict>(16).fill('drop'), 'close']);
  });

  it('refills at the heartbeat rate, and one report per heartbeat is never dropped', () => {
    let budget = freshBudget(policy, 0);
    for (let i = 0; i < 8; i++) budget = spendReport(budget, 0, policy).budget;
    assert.equal(spendReport(budget, 100, policy).verdict, 'drop');
    assert.equal(spendReport(budget, 250, policy).verdict, 'accept', 'a quarter heartbeat earns one report');
    budget = freshBudget(policy, 0);
    for (let t = 0; t < 100_000; t += 1000 / 3) {
      const r = spendReport(budget, t, policy);
      assert.equal(r.verdict, 'accept', `a report every third of a heartbeat at ${t} ms`);
      budget = r.budget;
    }
  });

  it('takes its defaults from LIMITS', () => {
    assert.deepEqual(defaultBudgetPolicy(10_000), { perHeartbeat: 4, burst: 8, droppedBeforeClose: 16, heartbeatMs: 10_000 });
  });
});

describe('report budget on a real channel (in-process controller, real TLS)', function () {
  this.timeout(30_000);

  it('a host flooding valid reports is refused past the budget, then closed with 4429', async () => {
    const agent = await mintIdentity('agent', 'flood1');
    // A long heartbeat: the bucket barely refills while the flood lasts, so the counts are exact.
    const ctl = await startInProcessController({ heartbeatMs: 60_000 });
    await enrollDirectly(ctl.store, 'flood1');
    const ws = new WebSocket(`${ctl.url.replace('https', 'wss')}/v1/channel/agent`, {
      ca: agent.ca, cert: agent.cert, key: agent.key,
      checkServerIdentity: (_h: string, cert: never) => checkServerIdentity(cert, 'test', { role: 'controller' }),
    } as unknown as WebSocket.ClientOptions);
    const errors: Array<{ code: string; message: string }> = [];
    try {
      await new Promise((resolve, reject) => {
        ws.once('message', resolve);
        ws.once('error', reject);
      });
      ws.on('message', (data: Buffer) => {
        const m = JSON.parse(data.toString()) as { type: string; code: string; message: string };
        if (m.type === 'error') errors.push(m);
      });
      const closed = new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code)));
      const certNotAfter = new Date(agent.material.notAfter).toISOString();
      for (let i = 0; i < 60; i++) ws.send(JSON.stringify({ type: 'report', report: { ...agentHealth(), pid: i }, certNotAfter }));
      assert.equal(await closed, CLOSE_CODES.rateLimited);
      assert.equal(errors.length, 17, 'one error per dropped report, the last one announcing the close');
      assert.ok(errors.every((e) => e.code === 'SWARM_ERR_CHANNEL_RATE_LIMITED'));
      assert.match(errors.at(-1)!.message, /channel closed/);
      assert.equal((ctl.context.reports.get('flood1')?.agent?.report as { pid: number }).pid, 7, 'only the burst was recorded');
      assert.equal(ctl.context.hub.counts().agent, 0);
    } finally {
      ws.terminate();
      await ctl.close();
    }
  });

  it('an honest client at its normal heartbeat is never refused, even when asked to report on every change', async () => {
    const agent = await mintIdentity('agent', 'honest1');
    const ctl = await startInProcessController({ heartbeatMs: 100 });
    await enrollDirectly(ctl.store, 'honest1');
    const warnings: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void warnings.push(line) });
    let sent = 0;
    let disconnects = 0;
    let up: () => void = () => undefined;
    const connected = new Promise<void>((resolve) => (up = resolve));
    const client = startChannelClient({
      controllerUrl: ctl.url, role: 'agent', material: () => agent.material, logger,
      report: () => (sent++, agentHealth()),
      onConnect: () => up(),
      onDisconnect: () => void disconnects++,
    });
    try {
      await connected;
      // A service flapping: a health change every 5 ms for about 30 heartbeats (bounded: 600 rounds).
      for (let i = 0; i < 600; i++) {
        client.reportNow();
        await new Promise((r) => setTimeout(r, 5));
      }
      const refused = warnings.filter((l) => l.includes('controller refused a message'));
      assert.deepEqual(refused, []);
      assert.equal(disconnects, 0);
      assert.equal(client.connected, true);
      assert.ok(sent >= 10, `reports kept flowing (${sent} sent)`);
    } finally {
      await client.close();
      await ctl.close();
    }
  });
});
