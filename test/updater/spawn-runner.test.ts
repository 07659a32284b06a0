// The spawn runner on its own: an agent it started is supervised even when its pid file cannot be written.
import assert from 'node:assert/strict';
import { readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../shared/logger.js';
import type { AgentEvent } from '../../updater/agent-runner.js';
import { SpawnAgentRunner } from '../../updater/spawn-runner.js';
import { tempDir } from '../helpers/pki.js';
import { writeReleaseTree } from '../helpers/releases.js';
import { pollUntil } from '../helpers/wait.js';

/** The next event matching `pick`, or a rejection after `ms`. */
function nextEvent(runner: SpawnAgentRunner, pick: (e: AgentEvent) => boolean, ms: number): Promise<AgentEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching agent event within ${ms} ms`));
    }, ms);
    const off = runner.onEvent((e) => {
      if (!pick(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

describe('spawn runner', () => {
  it('starts the agent and restarts it after a crash even when state/agent.pid cannot be written (disk full)', async () => {
    const t = await tempDir('swarm-rv-spawn-');
    const installDir = join(t.path, 'opt');
    await writeReleaseTree(join(installDir, 'releases', 'r1'), { entrypointScript: '#!/bin/sh\nexec sleep 600\n' });
    await symlink('releases/r1', join(installDir, 'active'));
    const runner = new SpawnAgentRunner({
      installDir, pkiDir: t.path, agentPort: 1, pidFile: join(t.path, 'no-such-dir', 'agent.pid'),
      stopGraceMs: 1_000, restartBackoffMs: 10, restartBackoffMaxMs: 50, logger: silentLogger(),
    });
    try {
      const started = nextEvent(runner, (e) => e.type === 'started', 5_000);
      await runner.ensureRunning();
      const first = (await started) as Extract<AgentEvent, { type: 'started' }>;
      const exited = nextEvent(runner, (e) => e.type === 'exited', 5_000);
      const again = nextEvent(runner, (e) => e.type === 'started' && e.pid !== first.pid, 5_000);
      process.kill(-first.pid, 'SIGKILL');
      assert.equal(((await exited) as Extract<AgentEvent, { type: 'exited' }>).expected, false, 'the crash is seen');
      await again;
    } finally {
      await runner.close();
      await t.cleanup();
    }
  });

  it('hands the agent every controller URL, comma-separated in SWARM_CONTROLLER (replicas)', async () => {
    const t = await tempDir('swarm-rv-spawn-');
    const installDir = join(t.path, 'opt');
    const envFile = join(t.path, 'controller.env');
    await writeReleaseTree(join(installDir, 'releases', 'r1'), { entrypointScript: `#!/bin/sh\necho "$SWARM_CONTROLLER" > "${envFile}"\nexec sleep 600\n` });
    await symlink('releases/r1', join(installDir, 'active'));
    const runner = new SpawnAgentRunner({
      installDir, pkiDir: t.path, agentPort: 1, pidFile: join(t.path, 'agent.pid'), controller: ['https://ctl-a.example:8770', 'https://ctl-b.example:8770'],
      stopGraceMs: 300, restartBackoffMs: 10, restartBackoffMaxMs: 50, logger: silentLogger(),
    });
    try {
      await runner.ensureRunning();
      assert.equal(await eventuallyRead(envFile), 'https://ctl-a.example:8770,https://ctl-b.example:8770');
    } finally {
      await runner.close();
      await t.cleanup();
    }
  });

  it('a restarted updater also stops what a SIGKILLed agent left running (services in their own process groups)', async () => {
    const t = await tempDir('swarm-rv-spawn-');
    const installDir = join(t.path, 'opt');
    const svcPidFile = join(t.path, 'service.pid');
    // The agent ignores SIGTERM (so it is SIGKILLed after the grace period) and runs a service in its own session.
    const script = `#!/bin/sh\ntrap '' TERM\nsetsid sleep 600 &\necho $! > "${svcPidFile}"\nexec sleep 600\n`;
    await writeReleaseTree(join(installDir, 'releases', 'r1'), { entrypointScript: script });
    await symlink('releases/r1', join(installDir, 'active'));
    const options = {
      installDir, pkiDir: t.path, agentPort: 1, pidFile: join(t.path, 'agent.pid'),
      stopGraceMs: 300, restartBackoffMs: 10, restartBackoffMaxMs: 50, logger: silentLogger(),
    };
    const first = new SpawnAgentRunner(options);
    const next = new SpawnAgentRunner(options);
    let servicePid = 0;
    try {
      await first.ensureRunning();
      servicePid = Number(await eventuallyRead(svcPidFile));
      assert.ok(await isRunning(servicePid), 'the service runs');
      // The updater running `first` is killed -9 (it restarts nothing any more); the next updater starts.
      first.hold();
      await next.ensureRunning();
      assert.equal(await isRunning(servicePid), false, 'the old agent\'s service was stopped with it');
      const nextService = Number(await eventuallyRead(svcPidFile, String(servicePid)));
      await next.close();
      assert.equal(await isRunning(nextService), false, 'stopping the updater stops what its SIGKILLed agent left running');
    } finally {
      await next.close();
      await first.close();
      if (servicePid && (await isRunning(servicePid))) process.kill(servicePid, 'SIGKILL');
      await t.cleanup();
    }
  });
});

/** Alive and not a zombie. */
async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/** A file another process writes (bounded wait). */
function eventuallyRead(path: string, notThis = ''): Promise<string> {
  return pollUntil(`${path} to be written`, async () => {
    const text = (await readFile(path, 'utf8').catch(() => '')).trim();
    return text && text !== notThis ? text : undefined;
  }, { timeoutMs: 5_000, everyMs: 25 });
}
