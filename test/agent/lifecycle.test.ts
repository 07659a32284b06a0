// The real `swarm-agent run` process: readiness and watchdog to systemd, health over mTLS, SIGTERM, TLS reload.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { AgentStatusSchema } from '../../agent/status-schema.js';
import { AgentHealthSchema } from '../../shared/wire.js';
import { mintIdentity, writeIdentity, type TestIdentity } from '../helpers/pki.js';
import { clientFor, getJson, isAlive, makeFixture, nodeService, spawnAgent, until, writeRelease, type Fixture, type SpawnedAgent } from './helpers.js';

/** The serial of the certificate the server presents to a new connection. */
function servedSerial(port: number, client: TestIdentity): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: client.ca, cert: client.cert, key: client.key, checkServerIdentity: () => undefined }, () => {
      const serial = socket.getPeerCertificate().serialNumber.toLowerCase();
      socket.destroy();
      resolve(serial);
    });
    socket.once('error', reject);
  });
}

async function readLines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

describe('swarm-agent run (real process)', () => {
  let fx: Fixture;
  let agent: SpawnedAgent | undefined;
  let controller: TestIdentity;
  let updater: TestIdentity;
  beforeEach(async () => {
    fx = await makeFixture('h1');
    controller = await mintIdentity('controller', 'controller');
    updater = await mintIdentity('updater', 'h1');
  });
  afterEach(async () => {
    agent?.kill();
    agent = undefined;
    await fx.cleanup();
  });

  async function started(env: NodeJS.ProcessEnv = {}): Promise<{ agent: SpawnedAgent; port: number }> {
    agent = spawnAgent(['run', '--pki-dir', fx.pkiDir, '--listen', '127.0.0.1:0'], { cwd: fx.releaseDir, env });
    const ready = await agent.waitForLog((l) => l.msg === 'agent ready');
    return { agent, port: Number(String(ready.listen).split(':').pop()) };
  }

  it('tells systemd READY=1 once serving, pings the watchdog, and stops its services on SIGTERM with exit 0', async () => {
    // a fake systemd-notify on PATH that records its arguments
    const binDir = join(fx.root, 'fakebin');
    const record = join(fx.root, 'notify.log');
    await mkdir(binDir);
    await writeFile(join(binDir, 'systemd-notify'), `#!/bin/sh\necho "$*" >> ${record}\n`);
    await chmod(join(binDir, 'systemd-notify'), 0o755);
    const id = randomBytes(32).toString('hex');
    await writeRelease(fx.releaseDir, [
      { name: 'capture', command: nodeService('setInterval(() => {}, 1000)') },
      { name: 'shipper', command: ['/bin/sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.05; done'] },
    ], { id, version: '2.1.0' });
    const { agent: a, port } = await started({
      PATH: `${binDir}:${process.env.PATH}`, NOTIFY_SOCKET: '/run/fake/notify', WATCHDOG_USEC: '200000', SWARM_AGENT_STOP_GRACE_MS: '2000',
    });

    await until('READY=1 sent', async () => (await readLines(record)).some((l) => l.includes('READY=1')));
    const lines = await readLines(record);
    const ready = lines.find((l) => l.includes('READY=1'))!;
    assert.match(ready, new RegExp(`--pid=${a.child.pid} READY=1 STATUS=ok: 2/2 services running`));

    // ready means serving: health answers at once, with the sidecar's release
    const d = clientFor(updater);
    const res = await getJson(`https://127.0.0.1:${port}/v1/health`, d);
    await d.close();
    assert.equal(res.status, 200);
    const health = AgentHealthSchema.parse(res.body);
    assert.deepEqual([health.status, health.release, health.version, health.pid], ['ok', id, '2.1.0', a.child.pid]);
    const pids = health.services.map((s) => s.pid!);
    assert.equal(pids.length, 2);
    assert.ok(pids.every((p) => isAlive(p)));

    await until('watchdog pinged (every 100 ms)', async () => (await readLines(record)).filter((l) => l.includes('WATCHDOG=1')).length >= 3);

    const t0 = Date.now();
    a.child.kill('SIGTERM');
    const exit = await a.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(Date.now() - t0 < 2000 + 1500, 'within the grace period');
    await until('service processes gone', () => pids.every((p) => !isAlive(p)), 2000);
    assert.ok((await readLines(record)).some((l) => l.includes('STOPPING=1')));
  });

  it('does not talk to systemd without NOTIFY_SOCKET, and a release without manifest is the agent alone', async () => {
    const binDir = join(fx.root, 'fakebin');
    const record = join(fx.root, 'notify.log');
    await mkdir(binDir);
    await writeFile(join(binDir, 'systemd-notify'), `#!/bin/sh\necho "$*" >> ${record}\n`);
    await chmod(join(binDir, 'systemd-notify'), 0o755);
    const { agent: a, port } = await started({ PATH: `${binDir}:${process.env.PATH}` });
    const d = clientFor(controller);
    const res = await getJson(`https://127.0.0.1:${port}/v1/status`, d);
    await d.close();
    const status = AgentStatusSchema.parse(res.body);
    assert.deepEqual([status.status, status.release, status.version, status.details.length, status.identity], ['ok', 'unknown', 'unknown', 0, 'spiffe://test/agent/h1']);
    a.child.kill('SIGTERM');
    assert.equal((await a.exited).code, 0);
    assert.deepEqual(await readLines(record), []);
  });

  it('serves a certificate replaced on disk to new connections without restarting; bad files keep the old one', async () => {
    const { agent: a, port } = await started();
    assert.equal(await servedSerial(port, controller), fx.agent.serial);

    // renewal writes a new key and certificate in place
    const renewed = await mintIdentity('agent', 'h1', { freshKey: true });
    await writeIdentity(fx.pkiDir, renewed, 'agent');
    await a.waitForLog((l) => l.msg === 'tls context reloaded' && l.serial === renewed.serial);
    assert.equal(await servedSerial(port, controller), renewed.serial);
    const d = clientFor(updater);
    const health = AgentHealthSchema.parse((await getJson(`https://127.0.0.1:${port}/v1/health`, d)).body);
    await d.close();
    assert.equal(health.pid, a.child.pid, 'same process');
    assert.equal(a.child.exitCode, null);

    // another host's certificate, then garbage: refused, the renewed one stays
    const other = await mintIdentity('agent', 'h2');
    await writeIdentity(fx.pkiDir, other, 'agent');
    await a.waitForLog((l) => l.msg?.toString().startsWith('new TLS files refused') === true && String((l.err as { message?: string })?.message).includes('agent/h2'));
    await writeFile(join(fx.pkiDir, 'agent.crt'), 'not a certificate');
    a.child.kill('SIGHUP');
    await a.waitForLog((l) => l.msg === 'new TLS files refused; still serving the previous certificate' && l.reason === 'SIGHUP');
    assert.equal(await servedSerial(port, controller), renewed.serial);
    assert.equal(a.child.exitCode, null, 'still running');
  });
});
