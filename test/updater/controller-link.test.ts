// The controller link with a real in-process controller: the updater's status channel, and certificate renewal with
// a live TLS swap (the server presents the renewed certificate and the probe client uses it, with no restart).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { Dispatcher } from 'undici';
import { loadTlsMaterial } from '../../shared/tls.js';
import type { UpdaterStatus } from '../../shared/wire.js';
import { enrollDirectly, startInProcessController, type InProcessController } from '../controller/helpers.js';
import { mintIdentity, writeIdentity, type TestIdentity } from '../helpers/pki.js';
import { buildAgentRelease } from './helpers/agent-release.js';
import { agentHealth, eventually, makeHost, sendRelease, startUpdater, updaterClient, type RunningUpdater, type TestHost } from './helpers/host.js';

/** The serial of the certificate the updater's server presents to a new connection. */
async function servedSerial(port: number, client: TestIdentity): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: client.ca, cert: client.cert, key: client.key, checkServerIdentity: () => undefined }, () => {
      const serial = socket.getPeerX509Certificate()?.serialNumber;
      socket.destroy();
      if (serial) resolve(serial);
      else reject(new Error('no peer certificate'));
    });
    socket.once('error', reject);
  });
}

describe('updater: controller link (status channel, renewal with a live TLS swap)', function () {
  this.timeout(60_000);
  let ctl: InProcessController;
  let host: TestHost;
  let updater: RunningUpdater | undefined;
  let client: Dispatcher;
  let controllerId: TestIdentity;

  before(async () => {
    ctl = await startInProcessController({ heartbeatMs: 500, reportFlushMs: 50, leafLifetimeMs: 3_600_000 });
    await enrollDirectly(ctl.store, 'h1');
    host = await makeHost({ watch: { windowMs: 300, intervalMs: 50, maxFailures: 2 } });
    // A short-lived updater certificate, one this controller issued: renewal is due at 2/3 of 6 s.
    const short = await mintIdentity('updater', 'h1', { lifetimeMs: 6_000 });
    await ctl.store.recordCertificate({ serial: short.serial, role: 'updater', name: 'h1', notBefore: 0, notAfter: short.material.notAfter, issuedAt: Date.now() });
    await writeIdentity(host.pkiDir, short, 'updater');
    host.updaterId = short;
    const c = await updaterClient();
    client = c.dispatcher;
    controllerId = c.identity;
  });

  after(async () => {
    await updater?.stop();
    await client?.close();
    await host?.cleanup();
    await ctl?.close();
  });

  async function reportedStatus(): Promise<UpdaterStatus | undefined> {
    const r = (await ctl.store.listReports()).find((x) => x.hostName === 'h1');
    return (r?.updater?.report as UpdaterStatus | undefined) ?? undefined;
  }

  it('reports its status, renews its certificate, serves and probes with the new one after the old expired', async () => {
    updater = await startUpdater(host, { args: ['--controller', ctl.url] });
    const v1 = await buildAgentRelease('1.0.0');
    assert.equal((await sendRelease(client, updater.port, v1)).status, 200);
    await eventually(async () => ((await reportedStatus())?.active?.id === v1.id ? true : undefined), 'the controller to see v1 active on h1');

    const first = await servedSerial(updater.port, controllerId);
    const notAfter = new X509Certificate(host.updaterId.cert).validTo;
    const renewed = await eventually(async () => {
      const onDisk = new X509Certificate(await readFile(join(host.pkiDir, 'updater.crt'), 'utf8')).serialNumber;
      const served = await servedSerial(updater!.port, controllerId);
      return onDisk !== first && served === onDisk ? served : undefined;
    }, 'the renewed certificate on disk and served', 20_000);
    assert.notEqual(renewed, first);
    assert.ok(updater.child.exitCode === null, 'renewed without a restart');

    // Past the old certificate's expiry: the API still answers and the probe (client side) uses the new identity.
    await eventually(async () => (Date.now() > Date.parse(notAfter) + 500 ? true : undefined), 'the old certificate to expire', 15_000);
    const v2 = await buildAgentRelease('2.0.0');
    const r = await sendRelease(client, updater.port, v2);
    assert.equal(r.status, 200, `update after renewal (got ${r.status}: ${String(r.body.message ?? '')})`);
    // Ask the agent as the renewed updater would (the agent refuses the expired certificate, as it should).
    host.updaterId = { ...host.updaterId, material: await loadTlsMaterial(host.pkiDir, 'updater') };
    assert.equal((await agentHealth(host)).release, v2.id);
    await eventually(async () => ((await reportedStatus())?.active?.id === v2.id ? true : undefined), 'the controller to see v2 active on h1');
  });
});
