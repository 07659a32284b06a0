// Pure parts of the agent: settings, the health decision, bounded output lines, systemd messages, release loading.
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../shared/cli.js';
import { silentLogger } from '../../shared/logger.js';
import { decideHealth, type ServiceFacts } from '../../agent/health.js';
import { createSystemdNotifier } from '../../shared/systemd-notify.js';
import { OutputLog } from '../../agent/output-log.js';
import { loadRelease } from '../../agent/release.js';
import { buildServiceEnv } from '../../agent/service.js';
import { resolveAgentSettings } from '../../agent/settings.js';
import { tempDir } from '../helpers/pki.js';
import { until, writeRelease, writeScript } from './helpers.js';

describe('agent settings', () => {
  it('takes flags over environment over defaults', () => {
    const d = resolveAgentSettings({}, {});
    assert.deepEqual([d.pkiDir, d.listen, d.controller], ['/etc/swarm/pki', { host: '127.0.0.1', port: 8765 }, undefined]);
    const e = resolveAgentSettings({}, { SWARM_PKI_DIR: '/p', SWARM_AGENT_LISTEN: '127.0.0.2:9000', SWARM_CONTROLLER: 'https://c:8770/' });
    assert.deepEqual([e.pkiDir, e.listen, e.controller], ['/p', { host: '127.0.0.2', port: 9000 }, 'https://c:8770']);
    const f = resolveAgentSettings({ pkiDir: '/q', listen: '[::1]:1', controller: 'https://x' }, { SWARM_PKI_DIR: '/p', SWARM_AGENT_LISTEN: 'bad' });
    assert.deepEqual([f.pkiDir, f.listen, f.controller], ['/q', { host: '::1', port: 1 }, 'https://x']);
  });

  it('names the variable that is wrong', () => {
    assert.throws(() => resolveAgentSettings({}, { SWARM_AGENT_CRASH_LIMIT: 'many' }), (e: Error) => e instanceof UsageError && /SWARM_AGENT_CRASH_LIMIT "many"/.test(e.message));
    assert.throws(() => resolveAgentSettings({}, { SWARM_CONTROLLER: 'ftp://c' }), /SWARM_CONTROLLER "ftp:\/\/c": must be an https/);
    assert.throws(() => resolveAgentSettings({}, { SWARM_AGENT_BACKOFF_BASE_MS: '500', SWARM_AGENT_BACKOFF_CAP_MS: '100' }), /must not be below/);
  });
});

describe('agent health decision', () => {
  const policy = { crashLimit: 3, crashWindowMs: 1000 };
  const f = (over: Partial<ServiceFacts>): ServiceFacts => ({ name: 's', required: true, state: 'running', crashes: [], stable: true, ...over });
  it('is ok with no services, and when every required service runs stably or finished', () => {
    assert.equal(decideHealth([], 0, policy), 'ok');
    assert.equal(decideHealth([f({}), f({ state: 'exited' })], 0, policy), 'ok');
  });
  it('is degraded while a required service starts, backs off or is not yet stable after a crash', () => {
    assert.equal(decideHealth([f({ state: 'backoff', crashes: [0] })], 10, policy), 'degraded');
    assert.equal(decideHealth([f({ stable: false, crashes: [0, 1] })], 10, policy), 'degraded');
    assert.equal(decideHealth([f({ state: 'starting', stable: false })], 10, policy), 'degraded');
  });
  it('is failing past the crash threshold within the window, or when a required service is dead for good', () => {
    assert.equal(decideHealth([f({ state: 'backoff', crashes: [0, 1, 2] })], 10, policy), 'failing');
    assert.equal(decideHealth([f({ state: 'backoff', crashes: [0, 1, 2] })], 1500, policy), 'degraded', 'old crashes age out');
    assert.equal(decideHealth([f({ state: 'failed' })], 0, policy), 'failing');
    assert.equal(decideHealth([f({ stable: true, crashes: [0, 1, 2] })], 10, policy), 'ok', 'recovered: stable again');
  });
  it('stays failing while a service keeps crashing after its backoff outgrew the crash window', () => {
    // backoff capped near the window: only 2 crashes in any window, but 8 restarts in a row never became stable
    const crashes = [0, 600, 1200, 1800, 2400, 3000, 3600, 4200];
    assert.equal(decideHealth([f({ state: 'backoff', crashes, streak: 8 })], 4300, policy), 'failing');
    assert.equal(decideHealth([f({ stable: false, crashes, streak: 8 })], 4300, policy), 'failing', 'running again, not yet stable');
    assert.equal(decideHealth([f({ stable: true, crashes, streak: 0 })], 4300, policy), 'ok', 'a stable run ends the streak');
  });
  it('ignores optional services', () => {
    assert.equal(decideHealth([f({}), f({ required: false, state: 'failed' })], 0, policy), 'ok');
  });
});

describe('agent output log', () => {
  it('keeps the newest lines, cuts long ones without splitting characters, and joins chunks', () => {
    const log = new OutputLog({ maxLines: 3, maxLineBytes: 8 });
    log.write('stdout', Buffer.from('a\nb'));
    log.write('stdout', Buffer.from('c\nd\n'));
    log.write('stderr', Buffer.from('éééééééé\n')); // 16 bytes
    log.write('stdout', Buffer.from('e'));
    log.end('stdout');
    assert.deepEqual(log.lines().map((l) => [l.stream, l.line, l.truncated]), [['stdout', 'd', false], ['stderr', 'éééé', true], ['stdout', 'e', false]]);
  });
  it('never holds a partial line past the cap, however long the line grows', () => {
    const log = new OutputLog({ maxLines: 10, maxLineBytes: 100 });
    for (let i = 0; i < 1000; i += 1) log.write('stdout', Buffer.alloc(10_000, 0x61));
    log.write('stdout', Buffer.from('\nnext\n'));
    assert.deepEqual(log.lines().map((l) => [l.line.length, l.truncated]), [[100, true], [4, false]]);
  });
});

describe('agent systemd notifier', () => {
  it('sends nothing without NOTIFY_SOCKET', async () => {
    const sent: string[][] = [];
    const n = createSystemdNotifier({ env: {}, pid: 7, logger: silentLogger(), runner: async (a) => void sent.push([...a]) });
    n.ready('ok');
    assert.equal(n.startWatchdog(), null);
    await n.close();
    assert.deepEqual(sent, []);
  });
  it('sends READY, STATUS and STOPPING in order and pings at half WATCHDOG_USEC', async () => {
    const sent: string[][] = [];
    const n = createSystemdNotifier({ env: { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '40000' }, pid: 7, logger: silentLogger(), runner: async (a) => void sent.push([...a]) });
    n.ready('ok: 1/1\nservices');
    assert.equal(n.startWatchdog(), 20);
    await until('three pings', () => sent.filter((m) => m.includes('WATCHDOG=1')).length >= 3, 2000);
    n.stopping('bye');
    await n.close();
    assert.deepEqual(sent[0], ['--pid=7', 'READY=1', 'STATUS=ok: 1/1 services']);
    assert.deepEqual(sent.at(-1), ['--pid=7', 'STOPPING=1', 'STATUS=bye']);
  });
  it('does not ping a watchdog meant for another process', () => {
    const n = createSystemdNotifier({ env: { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '40000', WATCHDOG_PID: '1' }, pid: 7, logger: silentLogger(), runner: async () => undefined });
    assert.equal(n.startWatchdog(), null);
  });
});

describe('agent release loading', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('swarm-agent-rel-');
  });
  afterEach(async () => dir.cleanup());

  it('without a manifest runs no services and reports release "unknown"', async () => {
    const r = await loadRelease(dir.path);
    assert.deepEqual([r.release, r.version, r.services.length], ['unknown', 'unknown', 0]);
  });
  it('resolves relative commands inside the release and refuses one that links outside it', async () => {
    const cmd = await writeScript(dir.path, 'sensor', '#!/bin/sh\nexec sleep 1\n');
    await writeRelease(dir.path, [{ name: 'sensor', command: [cmd, '--fast'] }], { id: 'b'.repeat(64), version: '3.0.0' });
    const r = await loadRelease(dir.path);
    assert.deepEqual([r.release, r.version], ['b'.repeat(64), '3.0.0']);
    assert.ok(r.services[0]!.executable.endsWith('/bin/sensor'));
    await mkdir(join(dir.path, 'lib'));
    await symlink('/bin/sh', join(dir.path, 'lib', 'escape'));
    await writeRelease(dir.path, [{ name: 'sensor', command: ['lib/escape'] }]);
    await assert.rejects(loadRelease(dir.path), (e: Error & { code?: string }) => e.code === 'SWARM_ERR_AGENT_COMMAND_INVALID' && /outside the release/.test(e.message));
    await writeRelease(dir.path, [{ name: 'sensor', command: ['bin/missing'] }]);
    await assert.rejects(loadRelease(dir.path), { code: 'SWARM_ERR_AGENT_COMMAND_INVALID' });
  });
  it('refuses a damaged sidecar', async () => {
    await writeFile(join(dir.path, '.swarm-release.json'), JSON.stringify({ id: 'nothex', version: '1' }));
    await assert.rejects(loadRelease(dir.path), { code: 'SWARM_ERR_AGENT_SIDECAR_INVALID' });
  });
  it('gives services the manifest env but never systemd\'s private variables', () => {
    const env = buildServiceEnv({ PATH: '/bin', NOTIFY_SOCKET: '/run/n', WATCHDOG_USEC: '1', HOME: '/h' },
      { name: 's', command: ['/bin/true'], env: { MODE: 'x', PATH: '/opt/bin' }, restart: 'always', required: true, executable: '/bin/true' }, '/rel');
    assert.deepEqual(env, { PATH: '/opt/bin', HOME: '/h', SWARM_RELEASE_DIR: '/rel', SWARM_SERVICE: 's', MODE: 'x' });
  });
});
