// The systemd path: detection (INVOCATION_ID + systemctl on PATH), `systemctl restart swarm-agent.service` through a
// recording fake systemctl that really restarts the test agent, and failures surfaced as SWARM_ERR_UPDATER_RESTART_FAILED.
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { createCommandRunner } from '../../updater/command-runner.js';
import { detectRestartMode, SystemdAgentRunner } from '../../updater/systemd-runner.js';
import { buildAgentRelease } from './helpers/agent-release.js';
import { agentHealth, eventually, makeHost, sendRelease, startUpdater, updaterClient, type TestHost } from './helpers/host.js';

/** Records every call; restart/start (re)launch <install>/active/bin/swarm-agent like the unit's ExecStart would. */
const FAKE_SYSTEMCTL = `#!/bin/sh
echo "$*" >> "$FAKE_SYSTEMCTL_LOG"
[ -n "$FAKE_SYSTEMCTL_EXIT" ] && { echo "Failed to $1 $2: Access denied" >&2; exit "$FAKE_SYSTEMCTL_EXIT"; }
pidfile="$FAKE_AGENT_PIDFILE"
stop_agent() {
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile"); kill "$pid" 2>/dev/null
  i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.02; i=$((i+1)); done
  rm -f "$pidfile"
}
start_agent() {
  dir=$(readlink -f "$FAKE_INSTALL_DIR/active") || exit 1
  cd "$dir" && SWARM_PKI_DIR="$FAKE_PKI_DIR" SWARM_AGENT_LISTEN="127.0.0.1:$FAKE_AGENT_PORT" ./bin/swarm-agent run >/dev/null 2>&1 &
  echo $! > "$pidfile"
}
case "$1" in
  restart) stop_agent; start_agent ;;
  start) if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then :; else start_agent; fi ;;
  stop) stop_agent ;;
esac
exit 0
`;

describe('updater: systemd restart mode', function () {
  this.timeout(60_000);
  let host: TestHost;
  let binDir: string;
  let env: NodeJS.ProcessEnv;
  let client: Dispatcher;

  before(async () => {
    host = await makeHost();
    binDir = join(host.root, 'fakebin');
    await mkdir(binDir);
    await writeFile(join(binDir, 'systemctl'), FAKE_SYSTEMCTL);
    await chmod(join(binDir, 'systemctl'), 0o755);
    env = {
      PATH: `${binDir}:${process.env.PATH ?? ''}`, INVOCATION_ID: '0123456789abcdef',
      FAKE_SYSTEMCTL_LOG: join(host.root, 'systemctl.log'), FAKE_AGENT_PIDFILE: join(host.root, 'fake-agent.pid'),
      FAKE_INSTALL_DIR: host.installDir, FAKE_PKI_DIR: host.pkiDir, FAKE_AGENT_PORT: String(host.agentPort),
    };
    await writeFile(env.FAKE_SYSTEMCTL_LOG!, '');
    client = (await updaterClient()).dispatcher;
  });

  after(async () => {
    await client?.close();
    try {
      process.kill(Number(await readFile(env.FAKE_AGENT_PIDFILE!, 'utf8')), 'SIGKILL');
    } catch {
      // gone
    }
    await host?.cleanup();
  });

  it('detects systemd from INVOCATION_ID plus systemctl on PATH, or takes the configured mode', () => {
    assert.equal(detectRestartMode('auto', { INVOCATION_ID: 'x', PATH: binDir }), 'systemd');
    assert.equal(detectRestartMode('auto', { PATH: binDir }), 'spawn');
    assert.equal(detectRestartMode('auto', { INVOCATION_ID: 'x', PATH: join(host.root, 'nothing-here') }), 'spawn');
    assert.equal(detectRestartMode('systemd', {}), 'systemd');
    assert.equal(detectRestartMode('spawn', { INVOCATION_ID: 'x', PATH: binDir }), 'spawn');
  });

  it('updates and rolls back through `systemctl restart swarm-agent.service`; stopping the updater leaves the agent running', async () => {
    const u = await startUpdater(host, { env, detectRestart: true });
    const [good, bad] = await Promise.all([buildAgentRelease('1.0.0'), buildAgentRelease('2.0.0', { mode: 'exit' })]);
    try {
      assert.equal((await sendRelease(client, u.port, good)).status, 200);
      assert.equal((await agentHealth(host)).release, good.id);
      const r = await sendRelease(client, u.port, bad);
      assert.equal(r.status, 409);
      assert.equal((await agentHealth(host)).release, good.id);
    } finally {
      await u.stop();
    }
    const calls = (await readFile(env.FAKE_SYSTEMCTL_LOG!, 'utf8')).trim().split('\n');
    // Nothing installed at start: no `start`; then update, the bad update, and its rollback.
    assert.deepEqual(calls, ['restart swarm-agent.service', 'restart swarm-agent.service', 'restart swarm-agent.service']);
    assert.equal((await agentHealth(host)).release, good.id, 'the agent is its own unit: it outlives the updater');
  });

  it('tells systemd it is ready, pings the watchdog, and says when it stops (Type=notify)', async () => {
    const log = join(host.root, 'notify.log');
    await writeFile(log, '');
    await writeFile(join(binDir, 'systemd-notify'), `#!/bin/sh\necho "$*" >> "${log}"\n`);
    await chmod(join(binDir, 'systemd-notify'), 0o755);
    const u = await startUpdater(host, { env: { PATH: env.PATH, NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '1000000' } });
    const lines = async (): Promise<string[]> => (await readFile(log, 'utf8')).trim().split('\n').filter(Boolean);
    await eventually(async () => ((await lines()).some((l) => l.includes('WATCHDOG=1')) ? true : undefined), 'a watchdog ping');
    await u.stop();
    const got = await lines();
    assert.match(got[0]!, new RegExp(`^--pid=${u.child.pid} READY=1 STATUS=serving on `));
    assert.match(got.at(-1)!, new RegExp(`^--pid=${u.child.pid} STOPPING=1`));
  });

  it('reports a failing systemctl as SWARM_ERR_UPDATER_RESTART_FAILED with systemctl\'s reason', async () => {
    const runner = new SystemdAgentRunner('swarm-agent.service', createCommandRunner({ env: { ...env, FAKE_SYSTEMCTL_EXIT: '4' } }));
    await assert.rejects(runner.restart(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SWARM_ERR_UPDATER_RESTART_FAILED');
      assert.match(err.message, /systemctl restart swarm-agent\.service failed \(exit 4\): Failed to restart swarm-agent.service: Access denied/);
      return true;
    });
  });
});
