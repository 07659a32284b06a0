// With a leaf lifetime of a few seconds, identities renew on their own and the channels stay up across renewals.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startChannelClient, type ChannelClient } from '../../controller-client/channel-client.js';
import { silentLogger } from '../../shared/logger.js';
import { startRenewal, type Renewal } from '../../controller-client/renewal.js';
import { loadTlsMaterial, type TlsMaterial } from '../../shared/tls.js';
import { joinCluster } from '../../updater/join.js';
import { agentHealth, startControllerProcess, updaterStatus, type ControllerProcess } from './helpers.js';

const LIFETIME_S = 6;

describe('certificate renewal (processes, leaf lifetime of 6 s)', function () {
  this.timeout(60_000);
  let ctl: ControllerProcess & { cleanup(): Promise<void> };
  const clients: ChannelClient[] = [];
  const renewals: Renewal[] = [];
  before(async () => {
    ctl = await startControllerProcess(['--leaf-lifetime', String(LIFETIME_S), '--heartbeat', '1']);
  });
  after(async () => {
    for (const r of renewals) r.stop();
    await Promise.all(clients.map((c) => c.close()));
    await ctl?.cleanup();
  });

  it('agent and updater renew twice each with fresh keys while their channels stay up; and the host stays online', async () => {
    const add = await ctl.swarmctl(['--json', 'host', 'add', 'r1']);
    const { token, caHash } = JSON.parse(add.stdout) as { token: string; caHash: string };
    const pkiDir = join(ctl.root, 'pki');
    await joinCluster({ controllerUrl: ctl.url, token, caHash, pkiDir });

    const disconnects: string[] = [];
    const renewed: Array<{ role: string; serial: string; keyPem: string }> = [];
    const done = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`only ${renewed.length} renewals in 25 s`)), 25_000);
      for (const role of ['agent', 'updater'] as const) {
        void loadTlsMaterial(pkiDir, role).then((initial) => {
          let current: TlsMaterial = initial;
          let connectedOnce: () => void = () => undefined;
          const up = new Promise<void>((r) => (connectedOnce = r));
          clients.push(startChannelClient({
            controllerUrl: ctl.url, role, material: () => current, logger: silentLogger(),
            report: () => (role === 'agent' ? agentHealth() : updaterStatus()),
            onConnect: () => connectedOnce(),
            onDisconnect: (info) => disconnects.push(`${role} ${info.code}`),
          }));
          void up.then(() => {
            renewals.push(startRenewal({
              controllerUrl: ctl.url, pkiDir, base: role, material: () => current, logger: silentLogger(),
              onRenewed: async (next) => {
                current = next;
                renewed.push({ role, serial: next.serial, keyPem: next.key });
                // The files on disk are the new pair, and load as one.
                const onDisk = await loadTlsMaterial(pkiDir, role);
                assert.equal(onDisk.serial, next.serial);
                if (renewed.filter((r) => r.role === 'agent').length >= 2 && renewed.filter((r) => r.role === 'updater').length >= 2) {
                  clearTimeout(t);
                  resolve();
                }
              },
            }));
          });
        }, reject);
      }
    });
    await done;
    assert.deepEqual(disconnects, [], 'no channel dropped across renewals');
    assert.ok(clients.every((c) => c.connected));
    assert.equal(new Set(renewed.map((r) => r.serial)).size, renewed.length, 'each renewal is a new certificate');
    assert.equal(new Set(renewed.map((r) => r.keyPem)).size, renewed.length, 'each renewal has a new key');

    // The controller recorded the renewals; the host is online and its certificate expiry moved forward.
    const certs = await ctl.swarmctl(['--json', 'cert', 'list', '--name', 'r1', '--all']);
    const list = JSON.parse(certs.stdout) as Array<{ role: string }>;
    assert.ok(list.filter((c) => c.role === 'agent').length >= 3);

    const asBob = await ctl.swarmctl(['--json', 'host', 'list']);
    assert.equal(asBob.code, 0, asBob.stderr);
    const hosts = JSON.parse(asBob.stdout) as Array<{ name: string; online: boolean }>;
    assert.equal(hosts.find((h) => h.name === 'r1')?.online, true);
  });
});
