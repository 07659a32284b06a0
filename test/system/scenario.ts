// The system test's scenario: enroll, roll out, a broken release rolled back by the updater through systemd and
// polkit, a fleet rollback, the agent's capabilities, the updater's polkit limits, and kill -9 of the updater mid-update.
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RolloutJson } from '../../shared/rollout-api.js';
import { StepFailed, until, type Fleet, type FleetHost } from './fleet.js';
import { installController, installHost } from './install.js';

/** Every check, in the order the scenario reaches it (a check never reached is reported `NOT-RUN` and fails the run). */
export const CHECKS: [string, string][] = [
  ['boot', 'three containers boot systemd (nspawn) and reach running'],
  ['install-controller', 'install.sh --role controller: swarm-controller.service active, swarmctl answers'],
  ['install-hosts', 'install.sh --role host on two hosts: both enrolled with join tokens, updater and agent channels up'],
  ['units-users', 'the updater runs as swarm, the agent as swarm-agent, both started by systemd'],
  ['rollout-v1', 'swarmctl rollout start v1 --all --wait: done, every host runs v1'],
  ['agent-capeff', 'the agent process holds exactly CAP_NET_ADMIN|CAP_NET_RAW (CapEff 0x3000)'],
  ['polkit-allows-agent', "the updater's credentials may restart swarm-agent.service (polkit YES)"],
  ['polkit-refuses-others', "the updater's credentials cannot restart or stop any other unit (refused, unit untouched)"],
  ['broken-v2-rolled-back', 'broken v2: the canary updater rolls back by itself through systemctl restart, the rollout pauses'],
  ['fleet-rollback', 'swarmctl rollback --all: every host back on its previous release'],
  ['kill9-updater', 'kill -9 of the updater mid-update (links moving; new agent on watch): systemd restarts it and the agent ends healthy'],
  ['final-health', 'at the end every host is online with a healthy agent'],
];

/** Short deadlines on the test hosts (production: a 30 s watch window). */
const WATCH = { windowMs: 8_000, intervalMs: 500, maxFailures: 3 };

export interface ScenarioOptions {
  /** The Swarm release tarball built by `npm run release` (host path). */
  tarball: string;
  controllerPort: number;
  /** Host-side roots of the containers, to read files without a process inside. */
  roots: Record<string, string>;
}

/** A release tree on the controller machine: manifest + an entrypoint that runs the installed Swarm agent, or fails. */
async function buildRelease(fleet: Fleet, version: string, broken: boolean): Promise<string> {
  const dir = `/root/releases-src/${version}`;
  const manifest = JSON.stringify({ name: 'sensor-agent', version, entrypoint: ['bin/swarm-agent', 'run'], services: [], created: '2026-01-01T00:00:00Z' });
  // The good agent is the one install.sh put in /usr/lib/swarm/current (readable by swarm-agent under ProtectSystem=strict).
  const body = broken
    ? 'echo "sensor: cannot open capture device /dev/cap0" >&2\nexit 3'
    : 'exec /usr/bin/node /usr/lib/swarm/current/dist/agent/main.js "$@"';
  const script = [
    `rm -rf ${dir} && mkdir -p ${dir}/bin`,
    `cat > ${dir}/swarm-release.json <<'EOF'\n${manifest}\nEOF`,
    `printf '%s\\n' '#!/bin/sh' '${body.replace(/'/g, "'\\''").split('\n').join("' '")}' > ${dir}/bin/swarm-agent`,
    `chmod 0755 ${dir}/bin/swarm-agent`,
  ].join('\n');
  const r = await fleet.quiet(fleet.ctl, script);
  if (r.code !== 0) throw new StepFailed(`writing release tree ${version}: ${r.stderr.trim()}`);
  await fleet.swarmctl(['release', 'build', dir, '--version', version, '--out', `/root/${version}.tar.gz`]);
  await fleet.swarmctl(['release', 'upload', `/root/${version}.tar.gz`]);
  const shown = await fleet.json<{ id: string }>(['release', 'show', version]);
  return shown.id;
}

function rolloutIdOf(stdout: string): string {
  const fromJson = /"id"\s*:\s*"([^"]+)"/.exec(stdout)?.[1];
  const fromText = /started rollout ([^\s:]+)/.exec(stdout)?.[1];
  const id = fromText ?? fromJson;
  if (!id) throw new StepFailed('swarmctl rollout start printed no rollout id');
  return id;
}

const short = (id: string | null | undefined): string => (id ? id.slice(0, 12) : 'none');

/** The agent's MainPID and InvocationID (systemd's). */
async function agentUnit(fleet: Fleet, host: FleetHost): Promise<{ pid: string; invocation: string; active: string }> {
  const u = await fleet.unit(host.box, 'swarm-agent.service', ['MainPID', 'InvocationID', 'ActiveState']);
  return { pid: u.MainPID ?? '0', invocation: u.InvocationID ?? '', active: u.ActiveState ?? '' };
}

/** Wait until the host's agent answers healthy on `release` (asked by `swarm-updater status`, i.e. the agent itself over mTLS). */
async function waitAgentHealthy(fleet: Fleet, host: FleetHost, release: string | undefined, timeoutMs = 90_000): Promise<void> {
  await until(`${host.name}'s agent to be healthy${release ? ` on ${short(release)}` : ''}`, async () => {
    const s = await fleet.updaterStatus(host);
    return s.agent?.status === 'ok' && (release === undefined || s.agent.release === release) && s.running === null;
  }, timeoutMs, 1_000);
}

export async function runScenario(fleet: Fleet, options: ScenarioOptions): Promise<void> {
  const report = fleet.report;
  const h1 = fleet.hosts[0]!;

  report.step('2. the controller: install.sh --role controller');
  await installController(fleet, options.tarball, options.controllerPort);
  report.check('install-controller', true, `swarm-controller.service active, listening ${fleet.controllerUrl}`);

  report.step('3. two hosts: swarmctl host add, install.sh --role host with the join token');
  for (const host of fleet.hosts) await installHost(fleet, host, options.tarball, WATCH);
  await until('both hosts online with their updater and agent channels', async () => {
    const list = await fleet.hostList();
    return fleet.hosts.every((h) => list.some((v) => v.name === h.name && v.online && v.channels.updater && v.channels.agent));
  }, 120_000, 1_000);
  await fleet.swarmctl(['host', 'list']);
  report.check('install-hosts', true, `${fleet.hosts.map((h) => h.name).join(', ')} enrolled, updater and agent channels up`);

  for (const host of fleet.hosts) {
    const up = await fleet.unit(host.box, 'swarm-updater.service', ['MainPID', 'User', 'ActiveState']);
    const ag = await agentUnit(fleet, host);
    const ups = await fleet.procStatus(host.box, up.MainPID ?? '0');
    const ags = await fleet.procStatus(host.box, ag.pid);
    const uid = async (user: string): Promise<string> => (await host.box.exec(['id', '-u', user])).stdout.trim();
    const [swarmUid, agentUid] = [await uid('swarm'), await uid('swarm-agent')];
    const upUid = ups.Uid?.split(/\s+/)[0];
    const agUid = ags.Uid?.split(/\s+/)[0];
    report.check('units-users', up.ActiveState === 'active' && upUid === swarmUid && ups.PPid === '1' && ag.active === 'active' && agUid === agentUid && ags.PPid === '1',
      `${host.name}: updater pid ${up.MainPID} uid ${upUid} (swarm=${swarmUid}), agent pid ${ag.pid} uid ${agUid} (swarm-agent=${agentUid}), both children of systemd`);
  }

  report.step('4. releases v1 (good), v2 (broken: its agent exits at start), v3 (good), built and uploaded with swarmctl');
  const ids = {
    v1: await buildRelease(fleet, '1.0.0', false),
    v2: await buildRelease(fleet, '2.0.0-broken', true),
    v3: await buildRelease(fleet, '3.0.0', false),
  };
  report.say(`release ids: v1 ${short(ids.v1)}, v2 ${short(ids.v2)}, v3 ${short(ids.v3)}`);

  report.step('5. roll out v1 to every host');
  const r1 = await fleet.swarmctl(['rollout', 'start', '1.0.0', '--all', '--wait'], { timeoutMs: 300_000 });
  const v1 = await fleet.json<RolloutJson>(['rollout', 'status', rolloutIdOf(r1.stdout)]);
  const list1 = await until('both hosts to report v1', async () => {
    const list = await fleet.hostList();
    return list.every((h) => h.release === ids.v1) ? list : undefined;
  }, 60_000, 1_000);
  report.check('rollout-v1', v1.state === 'done' && v1.hosts.every((h) => h.state === 'succeeded') && list1.length === 2,
    `rollout ${v1.id} ${v1.state}: ${v1.hosts.map((h) => `${h.name} ${h.state}`).join(', ')}; hosts report ${short(ids.v1)}`);

  report.step('6. the agent\'s capabilities (/proc/<pid>/status of swarm-agent.service\'s main process)');
  for (const host of fleet.hosts) {
    const ag = await agentUnit(fleet, host);
    const st = await fleet.procStatus(host.box, ag.pid);
    const cmd = (await host.box.exec(['cat', `/proc/${ag.pid}/cmdline`])).stdout.replace(/\0/g, ' ').trim();
    report.say(`${host.name}: agent pid ${ag.pid} (${cmd}) CapInh ${st.CapInh} CapPrm ${st.CapPrm} CapEff ${st.CapEff} CapBnd ${st.CapBnd} CapAmb ${st.CapAmb}`);
    const want = '0000000000003000';
    report.check('agent-capeff', st.CapEff === want && st.CapPrm === want && st.CapBnd === want,
      `${host.name}: CapEff ${st.CapEff} (want ${want} = cap_net_admin,cap_net_raw), CapPrm ${st.CapPrm}, CapBnd ${st.CapBnd}`);
  }

  report.step('7. polkit: what the updater\'s own credentials may do with systemctl');
  await checkPolkit(fleet, h1);

  report.step('8. roll out the broken v2 (one canary): its updater rolls back by itself through systemd');
  const agentBefore = new Map<string, string>();
  for (const host of fleet.hosts) agentBefore.set(host.name, (await agentUnit(fleet, host)).invocation);
  const r2 = await fleet.swarmctl(['rollout', 'start', '2.0.0-broken', '--all', '--canary', '1', '--wait'], { expect: 1, timeoutMs: 300_000 });
  const v2Id = rolloutIdOf(r2.stdout);
  await fleet.swarmctl(['rollout', 'status', v2Id], { lines: 12 });
  const v2 = await fleet.json<RolloutJson>(['rollout', 'status', v2Id]);
  const canaryView = v2.hosts.find((h) => h.wave === 0);
  const canary = fleet.hosts.find((h) => h.name === canaryView?.name);
  if (!canary || !canaryView) throw new StepFailed(`rollout ${v2Id} has no canary host`);
  await waitAgentHealthy(fleet, canary, ids.v1);
  const st2 = await fleet.updaterStatus(canary);
  const unit2 = await agentUnit(fleet, canary);
  const agentProc = await fleet.procStatus(canary.box, unit2.pid);
  const journal = await fleet.run(canary.box, ['journalctl', '--no-pager', '-o', 'cat', '-u', 'swarm-agent.service', '--since', '-5min'], { lines: 10 });
  const brokenRan = journal.stdout.includes('cannot open capture device');
  report.check('broken-v2-rolled-back',
    v2.state === 'paused' && v2.reason === 'canary-failed' && canaryView.state === 'rolled-back'
      && st2.active?.id === ids.v1 && st2.agent?.status === 'ok' && st2.badReleases.includes(ids.v2)
      && unit2.invocation !== agentBefore.get(canary.name) && agentProc.PPid === '1' && brokenRan
      && v2.hosts.filter((h) => h !== canaryView).every((h) => h.state === 'pending'),
    `rollout ${v2Id} ${v2.state} (${v2.reason}); canary ${canary.name} ${canaryView.state}: ${canaryView.error?.code ?? ''}; `
      + `active ${short(st2.active?.id)} (v1), agent ${st2.agent?.status}, v2 marked bad ${st2.badReleases.includes(ids.v2)}; `
      + `swarm-agent.service restarted by systemd (new invocation, PPid 1), broken entrypoint ran under it: ${brokenRan}; other host untouched`);
  await fleet.swarmctl(['rollout', 'abort', v2Id]);

  report.step('9. fleet rollback: swarmctl rollback --all');
  const before = await fleet.hostList();
  const expected = new Map(before.map((h) => [h.name, h.updater?.prev?.id ?? null]));
  report.say(`expected after rollback: ${[...expected].map(([n, id]) => `${n} -> ${short(id)}`).join(', ')}`);
  const rb = await fleet.swarmctl(['--json', 'rollback', '--all', '--wait'], { expect: null, timeoutMs: 180_000, lines: 6 });
  const rbJson = JSON.parse(rb.stdout || '{"hosts":[]}') as { hosts: { name: string; state: string; release: string | null }[] };
  const after = await until('every host to report its previous release', async () => {
    const list = await fleet.hostList();
    return list.every((h) => h.online && h.release === expected.get(h.name) && h.health === 'ok') ? list : undefined;
  }, 90_000, 1_000);
  report.check('fleet-rollback', rb.code === 0 && rbJson.hosts.length === 2 && rbJson.hosts.every((h) => h.state === 'rolled-back') && after.length === 2,
    `rollback: ${rbJson.hosts.map((h) => `${h.name} ${h.state} ${short(h.release)}`).join(', ')}; hosts now ${after.map((h) => `${h.name} ${short(h.release)} ${h.health}`).join(', ')}`);

  report.step('10. kill -9 of the updater mid-update (rollout of v3), under systemd');
  await checkKill9(fleet, options, ids.v3);

  report.step('11. the fleet at the end');
  const final = await until('every host online and healthy', async () => {
    const list = await fleet.hostList();
    return list.length === 2 && list.every((h) => h.online && h.health === 'ok' && h.channels.updater && h.channels.agent) ? list : undefined;
  }, 120_000, 1_000);
  await fleet.swarmctl(['host', 'list']);
  report.check('final-health', true, final.map((h) => `${h.name} ${h.version} ${h.health}`).join(', '));
}

/** As the updater runs (its uid, gid and groups, no new privileges, no capabilities): the agent yes, anything else no. */
async function checkPolkit(fleet: Fleet, host: FleetHost): Promise<void> {
  const report = fleet.report;
  const up = await fleet.unit(host.box, 'swarm-updater.service', ['MainPID']);
  const st = await fleet.procStatus(host.box, up.MainPID ?? '0');
  const uid = st.Uid?.split(/\s+/)[0] ?? '';
  const gid = st.Gid?.split(/\s+/)[0] ?? '';
  const groups = (st.Groups ?? '').trim().split(/\s+/).filter(Boolean).join(',');
  report.say(`${host.name}: updater pid ${up.MainPID}: uid ${uid} gid ${gid} groups [${groups}] CapEff ${st.CapEff} NoNewPrivs ${st.NoNewPrivs}`);
  const as = ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, groups ? `--groups=${groups}` : '--clear-groups', '--no-new-privs', '--inh-caps=-all', '--bounding-set=-all', '--'];

  const a0 = await agentUnit(fleet, host);
  const allowed = await fleet.run(host.box, [...as, 'systemctl', 'restart', 'swarm-agent.service'], { expect: null, display: `(as the updater) systemctl restart swarm-agent.service` });
  const a1 = await until('the agent unit to be active again', async () => {
    const u = await agentUnit(fleet, host);
    return u.active === 'active' ? u : undefined;
  }, 60_000);
  report.check('polkit-allows-agent', allowed.code === 0 && a1.invocation !== a0.invocation, `exit ${allowed.code}, agent invocation ${a0.invocation.slice(0, 8)} -> ${a1.invocation.slice(0, 8)}`);
  await waitAgentHealthy(fleet, host, undefined);

  for (const [verb, unit] of [['restart', 'dbus.service'], ['stop', 'systemd-journald.service'], ['restart', 'systemd-logind.service'], ['stop', 'polkit.service'], ['start', 'systemd-tmpfiles-clean.service'], ['restart', 'swarm-agent-other.service']] as const) {
    const before = await fleet.unit(host.box, unit, ['InvocationID', 'ActiveState']);
    const r = await fleet.run(host.box, [...as, 'systemctl', verb, unit], { expect: null, display: `(as the updater) systemctl ${verb} ${unit}`, lines: 1 });
    const after = await fleet.unit(host.box, unit, ['InvocationID', 'ActiveState']);
    const refused = r.code !== 0 && /Interactive authentication required|Access denied|not authorized/i.test(r.stderr);
    report.check('polkit-refuses-others', refused && after.InvocationID === before.InvocationID && after.ActiveState === before.ActiveState,
      `${verb} ${unit}: exit ${r.code} "${r.stderr.trim().split('\n')[0] ?? ''}", state ${before.ActiveState} -> ${after.ActiveState}, invocation unchanged ${after.InvocationID === before.InvocationID}`);
  }
}

/**
 * Roll v3 out to both hosts at once and SIGKILL each updater's main process mid-update, at two points: sensor-1 as
 * soon as its journal names v3 (the links are moving), sensor-2 once its new agent has been started (probe / watch
 * window). Each must be restarted by systemd, finish the journalled operation and end idle with a healthy agent.
 */
async function checkKill9(fleet: Fleet, options: ScenarioOptions, v3: string): Promise<void> {
  const report = fleet.report;
  const points = fleet.hosts.map((host, i) => ({ host, when: i === 0 ? 'switching' as const : 'watching' as const }));
  const before = new Map<string, { updater: Record<string, string>; agent: string }>();
  for (const { host } of points) {
    before.set(host.name, { updater: await fleet.unit(host.box, 'swarm-updater.service', ['MainPID', 'NRestarts']), agent: (await agentUnit(fleet, host)).invocation });
  }
  const started = await fleet.swarmctl(['rollout', 'start', '3.0.0', '--all', '--canary', '0', '--batch', '2'], { lines: 2 });
  const id = rolloutIdOf(started.stdout);
  const journalOf = (host: FleetHost): Promise<string> => readFile(join(options.roots[host.name]!, 'opt/swarm/state/journal.json'), 'utf8').catch(() => '');

  const kills = await Promise.all(points.map(async ({ host, when }) => {
    const was = before.get(host.name)!;
    // The journal (state/journal.json) exists from just before the links move until the operation ends; it names
    // release directories (<version>-<12 hex>). Read from the host side: no process inside is needed.
    const journal = await until(`${host.name}'s updater to be ${when} in the v3 update`, async () => {
      const text = await journalOf(host);
      if (!text.includes(`-${v3.slice(0, 12)}`)) return undefined;
      if (when === 'watching' && (await agentUnit(fleet, host)).invocation === was.agent) return undefined;
      return text;
    }, 120_000, 50);
    const active = await readlink(join(options.roots[host.name]!, 'opt/swarm/active')).catch(() => '?');
    const agentNow = await agentUnit(fleet, host);
    const pid = was.updater.MainPID!;
    const killed = await fleet.run(host.box, ['kill', '-9', pid], { display: `kill -9 ${pid}   # swarm-updater.service's main process (the supervisor), ${when}` });
    report.say(`${host.name}: at the kill: active -> ${active}, swarm-agent.service ${agentNow.active} invocation ${was.agent.slice(0, 8)} -> ${agentNow.invocation.slice(0, 8)}, journal ${journal.replace(/\s+/g, ' ').slice(0, 120)}...`);
    return { host, when, pid, killed: killed.code === 0 };
  }));

  const recovered = await Promise.all(kills.map(async ({ host, pid }) => until(`systemd to restart ${host.name}'s updater`, async () => {
    const u = await fleet.unit(host.box, 'swarm-updater.service', ['MainPID', 'NRestarts', 'ActiveState', 'SubState']);
    return u.ActiveState === 'active' && u.SubState === 'running' && u.MainPID !== pid && u.MainPID !== '0' ? u : undefined;
  }, 90_000)));
  const rollout = await until(`rollout ${id} to end`, async () => {
    const r = await fleet.json<RolloutJson>(['rollout', 'status', id]);
    return ['done', 'paused', 'aborted'].includes(r.state) ? r : undefined;
  }, 240_000, 2_000);
  await fleet.swarmctl(['rollout', 'status', id], { expect: null, lines: 10 });
  for (const [i, { host, when, pid, killed }] of kills.entries()) {
    const restarted = recovered[i]!;
    const st = await until(`${host.name}'s updater to be idle with a healthy agent`, async () => {
      const s = await fleet.updaterStatus(host);
      return s.running === null && s.agent?.status === 'ok' && s.agent.release === s.active?.id ? s : undefined;
    }, 120_000, 1_000);
    const journalGone = (await journalOf(host)) === '';
    const unit = await agentUnit(fleet, host);
    const was = before.get(host.name)!.updater;
    const view = rollout.hosts.find((h) => h.name === host.name);
    report.check('kill9-updater', killed && Number(restarted.NRestarts) > Number(was.NRestarts ?? 0) && st.agent?.status === 'ok'
      && st.agent.release === st.active?.id && journalGone && unit.active === 'active',
      `${host.name} (killed ${when}): updater pid ${pid} -> ${restarted.MainPID} by systemd (NRestarts ${was.NRestarts} -> ${restarted.NRestarts}); `
        + `journal finished: ${journalGone}; last op ${st.lastOperation?.kind} ${st.lastOperation?.state}; agent ${st.agent?.status} on ${st.active?.version}; `
        + `in rollout ${rollout.state}: ${view?.state}${view?.error ? ` ${view.error.code}` : ''}`);
  }
  if (rollout.state !== 'done') await fleet.swarmctl(['rollout', 'abort', id], { expect: null });
}
