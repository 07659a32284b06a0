// The system test's installs: deploy/install.sh for the controller and each host, plus the test's own ports.
import { basename } from 'node:path';
import { MOUNT, StepFailed, until, type Fleet, type FleetHost } from './fleet.js';

const CLUSTER = 'system-test';

/** The controller listens on loopback at the test's port: a drop-in adds `--listen` to the unit's own ExecStart. */
export async function installController(fleet: Fleet, tarball: string, port: number): Promise<void> {
  const ctl = fleet.ctl;
  const inside = `${MOUNT.release}/${basename(tarball)}`;
  await fleet.run(ctl, ['bash', `${MOUNT.deploy}/install.sh`, '--role', 'controller', '--tarball', inside, '--cluster', CLUSTER, '--san', '127.0.0.1', '--no-start'], { timeoutMs: 180_000, lines: 6 });
  const unit = await ctl.exec(['systemctl', 'cat', 'swarm-controller.service']);
  const execStart = unit.stdout.split('\n').find((l) => l.startsWith('ExecStart='));
  if (!execStart) throw new StepFailed('swarm-controller.service has no ExecStart=');
  const dropIn = `# system test: loopback only, on a free port (the three containers share the host's network)\n[Service]\nExecStart=\n${execStart} --listen 127.0.0.1:${port}\n`;
  const w = await ctl.sh(`mkdir -p /etc/systemd/system/swarm-controller.service.d && cat > /etc/systemd/system/swarm-controller.service.d/50-system-test.conf && systemctl daemon-reload`, { input: dropIn });
  if (w.code !== 0) throw new StepFailed(`controller drop-in: ${w.stderr.trim()}`);
  fleet.report.say(`[ctl] drop-in 50-system-test.conf: ${execStart.slice('ExecStart='.length)} --listen 127.0.0.1:${port}`);
  await fleet.run(ctl, ['systemctl', 'start', 'swarm-controller.service'], { timeoutMs: 120_000 });
  fleet.controllerUrl = `https://127.0.0.1:${port}`;
  // The operator's copy of the admin identity: swarmctl refuses a key owned by another user (swarm owns the state dir).
  await fleet.run(ctl, ['sh', '-c', `rm -rf ${fleet.identity} && cp -r /var/lib/swarm/operators/admin ${fleet.identity} && chown -R root:root ${fleet.identity} && chmod 0700 ${fleet.identity} && chmod 0600 ${fleet.identity}/operator.key`],
    { display: `cp -r /var/lib/swarm/operators/admin ${fleet.identity} (owned by root, the operator here)` });
  await until('swarmctl status to answer', async () => {
    const r = await ctl.exec(['swarmctl', 'status'], { env: { SWARMCTL_CONTROLLER: fleet.controllerUrl, SWARMCTL_IDENTITY: fleet.identity } });
    if (r.code !== 0) throw new Error(r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`);
    return true;
  }, 60_000);
  await fleet.swarmctl(['status']);
}

/** The host's settings before install.sh (which keeps existing ones): its ports, a short watch window for the test. */
function hostSettings(fleet: Fleet, host: FleetHost, watch: object): { updaterJson: string; agentEnv: string } {
  const updaterJson = JSON.stringify({
    installDir: '/opt/swarm', pkiDir: '/etc/swarm/pki', restart: 'systemd', controller: fleet.controllerUrl,
    listen: { host: '127.0.0.1', port: host.ports.updater }, agentPort: host.ports.agent, watch,
  }, null, 2);
  const agentEnv = [
    '# system test: the agent port this host\'s updater probes (the containers share the host\'s loopback)',
    'SWARM_PKI_DIR=/etc/swarm/pki/agent',
    `SWARM_AGENT_LISTEN=127.0.0.1:${host.ports.agent}`,
    `SWARM_CONTROLLER=${fleet.controllerUrl}`,
  ].join('\n');
  return { updaterJson: `${updaterJson}\n`, agentEnv: `${agentEnv}\n` };
}

/** swarmctl host add on the controller, then install.sh --role host with the token on stdin. */
export async function installHost(fleet: Fleet, host: FleetHost, tarball: string, watch: object): Promise<void> {
  const add = await fleet.swarmctl(['--json', 'host', 'add', host.name, '--address', `127.0.0.1:${host.ports.updater}`, '--label', 'site=system-test'], { lines: 0 });
  const { token, caHash } = JSON.parse(add.stdout) as { token: string; caHash: string };
  fleet.report.say(`[ctl] join token for ${host.name} (redacted), CA ${caHash.slice(0, 19)}...`);
  const s = hostSettings(fleet, host, watch);
  const w = await host.box.sh('mkdir -p /etc/swarm && cat > /etc/swarm/updater.json', { input: s.updaterJson });
  const e = await host.box.sh('cat > /etc/swarm/agent.env', { input: s.agentEnv });
  if (w.code !== 0 || e.code !== 0) throw new StepFailed(`${host.name}: writing /etc/swarm settings failed`);
  fleet.report.say(`[${host.name}] /etc/swarm/updater.json: listen 127.0.0.1:${host.ports.updater}, agentPort ${host.ports.agent}, watch ${JSON.stringify(watch)}`);
  const inside = `${MOUNT.release}/${basename(tarball)}`;
  await fleet.run(host.box, ['bash', `${MOUNT.deploy}/install.sh`, '--role', 'host', '--tarball', inside, '--controller', fleet.controllerUrl, '--ca-hash', caHash, '--token-file', '-'],
    { input: `${token}\n`, timeoutMs: 180_000, lines: 8, display: `install.sh --role host --tarball ${inside} --controller ${fleet.controllerUrl} --ca-hash ${caHash.slice(0, 19)}... --token-file - <token` });
}
