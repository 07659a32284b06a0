// swarmctl rollout watch with two controller URLs: when the first goes away mid-rollout, the event stream
// reconnects through the second and misses no event. Both URLs lead to one in-process controller through loopback
// TCP proxies; cutting a proxy is a replica going away (its connections dropped, new ones refused).
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { buildSwarmctl } from '../../cli/index.js';
import { runCli } from '../../shared/cli.js';
import { RolloutSchema } from '../../shared/rollout-api.js';
import { startInProcessController, waitFor, type InProcessController } from '../controller/helpers.js';
import { FakeRolloutService } from '../helpers/fake-rollouts.js';
import { mintIdentity, tempDir, writeIdentity } from '../helpers/pki.js';

const R1 = 'a1'.repeat(32);
const R2 = 'b2'.repeat(32);

/** A loopback TCP proxy to `targetPort`; cut() drops its connections and stops listening. */
async function startProxy(targetPort: number): Promise<{ url: string; connections: () => number; cut(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((client) => {
    connections += 1;
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const destroy = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', destroy).on('close', destroy);
    upstream.on('error', destroy).on('close', destroy);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let closed: Promise<void> | undefined;
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    cut() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closed;
    },
  };
}

describe('swarmctl rollout watch: several controller URLs', function () {
  this.timeout(30_000);
  let ctl: InProcessController;
  let fake: FakeRolloutService;
  let dir: { path: string; cleanup(): Promise<void> };
  let identity: string;

  before(async () => {
    fake = new FakeRolloutService({
      releases: [{ id: R1, version: '1.0.0' }, { id: R2, version: '2.0.0' }],
      hosts: ['h1', 'h2'].map((name) => ({ name, release: R1, labels: {} })),
    });
    ctl = await startInProcessController({ rollouts: fake });
    dir = await tempDir('swarmctl-failover-');
    identity = join(dir.path, 'alice');
    await writeIdentity(identity, await mintIdentity('operator', 'alice'), 'operator');
  });
  after(async () => {
    await ctl?.close();
    await dir?.cleanup();
  });

  const run = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    let stdout = '';
    let stderr = '';
    const out = { write: (s: string) => ((stdout += s), true), isTTY: false, columns: 200 } as unknown as NodeJS.WritableStream;
    const err = { write: (s: string) => ((stderr += s), true) } as unknown as NodeJS.WritableStream;
    const code = await runCli(buildSwarmctl({ stdout: out, stderr: err, env: { SWARMCTL_IDENTITY: identity, NO_COLOR: '1' } }), args, { stdout: out, stderr: err });
    return { code, stdout, stderr };
  };

  it('the event stream moves to the next controller when the first goes away, and misses no event', async () => {
    const port = Number(new URL(ctl.url).port);
    const a = await startProxy(port);
    const b = await startProxy(port);
    const started = RolloutSchema.parse(JSON.parse((await run(['--controller', a.url, '--json', 'rollout', 'start', '2.0.0', '--hosts', 'h1,h2', '--canary', '0'])).stdout));
    const listeners = fake.listenerCount;
    const watching = run(['--controller', a.url, '--controller', b.url, 'rollout', 'watch', started.id]);
    await waitFor('the watch stream to open', async () => (fake.listenerCount > listeners ? true : undefined), 10_000, 20);
    assert.equal(b.connections(), 0, 'everything went to the first controller while it was up');
    fake.setHost(started.id, 'h1', 'pushing');
    fake.setHost(started.id, 'h1', 'succeeded');
    await a.cut();
    await waitFor('the server to drop the stream', async () => (fake.listenerCount === listeners ? true : undefined), 10_000, 20);
    fake.setHost(started.id, 'h2', 'pushing');
    await waitFor('the watch to reconnect through the second controller', async () => (fake.listenerCount > listeners ? true : undefined), 15_000, 20);
    assert.ok(b.connections() > 0);
    fake.setHost(started.id, 'h2', 'succeeded');
    fake.setState(started.id, 'done');
    const r = await watching;
    assert.equal(r.code, 0, r.stderr);
    const types = r.stdout.trim().split('\n').filter((l) => /^\d\d:\d\d:\d\d/.test(l)).map((l) => l.split('  ').slice(1, 3).join(' '));
    assert.deepEqual(types.slice(1), ['host-pushing h1 wave 0', 'host-succeeded h1 wave 0', 'host-pushing h2 wave 0', 'host-succeeded h2 wave 0', 'done rollout done']);
    await b.cut();
  });
});
