// Hardening item 5: anonymous connections cannot exhaust the controller; operators, channels and enrollment still answer.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { startChannelClient } from '../../controller-client/channel-client.js';
import type { ConnectionLimits } from '../../shared/connection-guard.js';
import { silentLogger } from '../../shared/logger.js';
import { openFlood, type Flood, type FloodKind } from '../helpers/flood.js';
import { mintIdentity, type TestIdentity } from '../helpers/pki.js';
import { agentHealth, call, clientFor, enrollDirectly, startInProcessController, type InProcessController } from './helpers.js';

const FLOOD = 150;
const KINDS: FloodKind[] = ['silent', 'partial-hello', 'partial-request'];
/** The attacker's address; honest callers come from 127.0.0.1. */
const ATTACKER = '127.0.0.2';

describe('controller under a flood of anonymous connections', function () {
  this.timeout(30_000);
  let op: TestIdentity;
  let ctl: InProcessController | undefined;
  const floods: Flood[] = [];

  before(async () => {
    op = await mintIdentity('operator', 'alice');
  });
  afterEach(async () => {
    for (const f of floods.splice(0)) f.destroy();
    await ctl?.close();
    ctl = undefined;
  });

  async function start(connections: Partial<ConnectionLimits>): Promise<{ port: number; seen(n: number): Promise<void> }> {
    ctl = await startInProcessController({ connections });
    let count = 0;
    const waiters: Array<{ n: number; resolve: () => void }> = [];
    ctl.app.server.on('connection', () => {
      count++;
      for (const w of waiters.filter((x) => count >= x.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    });
    return {
      port: (ctl.app.server.address() as AddressInfo).port,
      seen: (n) => (count >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    };
  }

  /** Resolves when n of the flood's sockets, all kinds together, have been closed by the server. */
  function closedAtLeast(n: number, timeoutMs: number): Promise<void> {
    const total = (): number => floods.reduce((k, f) => k + f.closedCount(), 0);
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`only ${total()} flood sockets closed, expected ${n}`)), timeoutMs);
      const check = (): void => {
        if (total() >= n) {
          clearTimeout(deadline);
          resolve();
        }
      };
      for (const f of floods) for (const s of f.sockets) s.once('close', check);
      check();
    });
  }

  it('keeps at most the per-source caps of a flood, and operators, channels and enrollment still answer', async () => {
    // Timeouts far beyond the test: only the caps can make room, not the timers.
    const { port, seen } = await start({ handshakeTimeoutMs: 60_000, anonymousLifetimeMs: 60_000, headersTimeoutMs: 60_000 });
    for (const kind of KINDS) floods.push(openFlood(port, kind, FLOOD, ATTACKER));
    await Promise.all(floods.map((f) => f.settled));
    await seen(KINDS.length * FLOOD);
    // One source holds at most 32 sockets in the handshake and 16 past it without a certificate; the rest go.
    await closedAtLeast(KINDS.length * FLOOD - 32 - 16, 15_000);
    const stats = ctl!.app.connectionGuard.stats();
    assert.ok(stats.pending <= 32 && stats.anonymous <= 16, `held: ${JSON.stringify(stats)}`);

    // An operator.
    const d = clientFor(op.ca, op.material);
    try {
      const hosts = await call(d, `${ctl!.url}/v1/hosts`);
      assert.equal(hosts.status, 200);
    } finally {
      await d.close();
    }

    // A host's channel.
    await enrollDirectly(ctl!.store, 'f1');
    const agent = await mintIdentity('agent', 'f1');
    let client: ReturnType<typeof startChannelClient> | undefined;
    await new Promise<void>((resolve, reject) => {
      client = startChannelClient({
        controllerUrl: ctl!.url, role: 'agent', material: () => agent.material, report: () => agentHealth(), logger: silentLogger(),
        backoffBaseMs: 50, backoffCapMs: 200,
        onConnect: () => resolve(),
        onConnectError: reject,
      });
    });
    await client?.close();

    // The public routes without a certificate: health and enrollment (a refused token is an answer).
    const anon = clientFor(op.ca);
    try {
      assert.equal((await call(anon, `${ctl!.url}/healthz`)).status, 200);
      const enroll = await call(anon, `${ctl!.url}/v1/enroll`, 'POST', { name: 'f2', token: `f2.${'A'.repeat(43)}`, updaterCsr: 'x', agentCsr: 'y' });
      assert.ok(enroll.status >= 400 && enroll.status < 500 && typeof enroll.body.code === 'string', `enrollment answered ${enroll.status} ${JSON.stringify(enroll.body)}`);
    } finally {
      await anon.close();
    }
  });

  it('closes sockets that never finish the handshake or never finish their headers', async () => {
    // The anonymous lifetime stays long: the headers timeout alone must end the half-sent requests.
    const { port } = await start({ handshakeTimeoutMs: 300, headersTimeoutMs: 300, anonymousLifetimeMs: 60_000 });
    for (const kind of KINDS) floods.push(openFlood(port, kind, FLOOD, ATTACKER));
    await Promise.all(floods.map((f) => f.allClosed(15_000)));
  });

  it('closes an idle connection without a certificate after its lifetime, and leaves a verified one open', async () => {
    const { port } = await start({ anonymousLifetimeMs: 300 });
    const open = (withCert: boolean): Promise<import('node:tls').TLSSocket> => new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, ca: op.ca, ...(withCert ? { cert: op.cert, key: op.key } : {}), checkServerIdentity: () => undefined });
      s.once('secureConnect', () => resolve(s));
      s.once('error', reject);
    });
    const verified = await open(true);
    const anonymous = await open(false);
    anonymous.on('error', () => undefined);
    await new Promise((resolve) => anonymous.once('close', resolve));
    assert.equal(verified.destroyed, false, 'the verified connection is still open');
    verified.destroy();
  });
});
