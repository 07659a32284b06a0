// The spawn runner on its own: an agent it started is supervised even when its pid file cannot be written.
import assert from 'node:assert/strict';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../shared/logger.js';
import type { AgentEvent } from '../../updater/agent-runner.js';
import { SpawnAgentRunner } from '../../updater/spawn-runner.js';
import { tempDir } from '../helpers/pki.js';
import { writeReleaseTree } from '../helpers/releases.js';

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
});
