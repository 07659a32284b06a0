// Hardening item 4: local sockets without a certificate must never keep the updater's probe out of the agent.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import { buildAgentApp, type AgentView } from '../../agent/app.js';
import type { AgentStatus } from '../../agent/status-schema.js';
import type { ConnectionLimits } from '../../shared/connection-guard.js';
import { buildDispatcher } from '../../shared/dispatcher.js';
import { silentLogger } from '../../shared/logger.js';
import type { AgentHealth } from '../../shared/wire.js';
import { agentHealthFetcher, waitHealthy } from '../../updater/probe.js';
import { openFlood, type Flood } from '../helpers/flood.js';
import { mintIdentity, type TestIdentity } from '../helpers/pki.js';

const RELEASE = 'c'.repeat(64);
const FLOOD = 150; // past the old cap of 128 connections

const health: AgentHealth = { status: 'ok', release: RELEASE, version: '1.0.0', pid: process.pid, startedAt: new Date().toISOString(), services: [] };
const view: AgentView = { health: () => health, status: () => health as unknown as AgentStatus };

interface Running {
  app: FastifyInstance;
  port: number;
  /** Resolves once the server has taken (or dropped) n sockets: the flood has reached it, not just the kernel. */
  seen(n: number): Promise<void>;
}

async function startAgent(agent: TestIdentity, connections: Partial<ConnectionLimits>): Promise<Running> {
  const app = await buildAgentApp({ material: agent.material, view, logger: silentLogger(), limits: { connections } });
  let count = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const bump = (): void => {
    count++;
    for (const w of waiters.filter((x) => count >= x.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  app.server.on('connection', bump);
  app.server.on('drop', bump); // Node's own maxConnections refusal (the code before the guard)
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    port: (app.server.address() as AddressInfo).port,
    seen: (n) => (count >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

describe('agent under a flood of unauthenticated local sockets', function () {
  this.timeout(30_000);
  let agent: TestIdentity;
  let updater: TestIdentity;
  let running: Running | undefined;
  let dispatcher: Dispatcher | undefined;
  const floods: Flood[] = [];

  before(async () => {
    agent = await mintIdentity('agent', 'h1');
    updater = await mintIdentity('updater', 'h1');
  });
  afterEach(async () => {
    for (const f of floods.splice(0)) f.destroy();
    await dispatcher?.close();
    dispatcher = undefined;
    await running?.app.close();
    running = undefined;
  });

  it('answers the updater\'s real probe while 150 silent and 150 half-hello sockets are held from the same address', async () => {
    // A handshake timeout far beyond the test: only the caps can let the probe in, not the timeout.
    running = await startAgent(agent, { handshakeTimeoutMs: 60_000 });
    floods.push(openFlood(running.port, 'silent', FLOOD), openFlood(running.port, 'partial-hello', FLOOD));
    await Promise.all(floods.map((f) => f.settled));
    await running.seen(2 * FLOOD);

    // What the updater does after a restart (updater/wiring.ts): its own identity, expecting agent/h1.
    dispatcher = buildDispatcher(updater.material, { expect: { role: 'agent', name: 'h1' }, connections: 2, keepAliveTimeoutMs: 1_000, connectTimeoutMs: 2_000 });
    const result = await waitHealthy({ fetch: agentHealthFetcher(dispatcher, running.port, 2_000), expectId: RELEASE, deadlineMs: 5_000, intervalMs: 50, backoffMaxMs: 200 });
    assert.deepEqual(result, { ok: true, health });

    const held = floods.reduce((n, f) => n + f.sockets.filter((s) => !s.destroyed).length, 0);
    assert.ok(held > 0, 'the flood was still being held while the probe succeeded');
    const stats = running.app.connectionGuard.stats();
    assert.ok(stats.pending <= 32, `pending handshakes stay capped per source (${stats.pending})`);
    assert.ok(stats.dropped.pending >= 2 * FLOOD - 32, `the flood evicted itself (${stats.dropped.pending} dropped)`);
  });

  it('closes silent and half-hello sockets after the handshake timeout', async () => {
    running = await startAgent(agent, { handshakeTimeoutMs: 300 });
    const silent = openFlood(running.port, 'silent', FLOOD);
    const hello = openFlood(running.port, 'partial-hello', FLOOD);
    floods.push(silent, hello);
    // Node's own default would hold them 120 s; the mocha timeout is 30 s.
    await Promise.all([silent.allClosed(15_000), hello.allClosed(15_000)]);
  });
});
