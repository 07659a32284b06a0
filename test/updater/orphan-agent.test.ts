// An agent orphaned by a kill -9 of the updater between spawning it and writing state/agent.pid must still be found
// and stopped: otherwise it holds the agent port, every new agent dies on EADDRINUSE, and the orphan's answers
// make a good release look unhealthy (rolled back, marked bad) while nothing supervises the orphan.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Dispatcher } from 'undici';
import { buildAgentRelease } from './helpers/agent-release.js';
import { agentHealth, eventually, makeHost, sendRelease, startUpdater, updaterClient, type RunningUpdater, type TestHost } from './helpers/host.js';

/** Alive and not a zombie (an orphan's zombie lingers when nothing reaps it). */
async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

describe('updater: an agent orphaned before its pid file was written', function () {
  this.timeout(60_000);
  let host: TestHost;
  let client: Dispatcher;
  let updater: RunningUpdater | undefined;
  const orphans: number[] = [];

  before(async () => {
    host = await makeHost({ watch: { windowMs: 300, intervalMs: 50, maxFailures: 2 } });
    client = (await updaterClient()).dispatcher;
  });

  after(async () => {
    await updater?.stop();
    for (const pid of orphans) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already stopped (the fixed updater does it)
      }
    }
    await client?.close();
    await host?.cleanup();
  });

  it('is stopped by the next updater, and the next good release is committed, not rolled back', async () => {
    updater = await startUpdater(host);
    const v1 = await buildAgentRelease('1.0.0');
    assert.equal((await sendRelease(client, updater.port, v1)).status, 200);
    await updater.stop();

    // The updater starts the v1 agent at boot and is killed before it records the agent's pid.
    await assert.rejects(startUpdater(host, { env: { SWARM_FAULT: 'agent-after-spawn' } }), /exited/);
    const orphan = await eventually(async () => {
      const h = await agentHealth(host);
      return h.status === 'ok' ? h : undefined;
    }, 'the orphaned agent to serve');
    orphans.push(orphan.pid);

    updater = await startUpdater(host);
    const v2 = await buildAgentRelease('2.0.0');
    const r = await sendRelease(client, updater.port, v2);
    assert.equal(r.status, 200, `a good release is committed (got ${r.status}: ${String(r.body.message ?? '')})`);
    const h = await agentHealth(host);
    assert.equal(h.release, v2.id, 'the agent answering runs the new release');
    assert.notEqual(h.pid, orphan.pid);
    assert.equal(await isRunning(orphan.pid), false, 'the orphan was stopped');
  });
});
