// A supervised worker whose supervisor was SIGKILLed (and not killed with it) stops by itself: otherwise it would
// hold the port and notify systemd for a dead main process, so the restarted unit's new worker could never start.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
// isProcessAlive counts a zombie as gone: the exited worker is re-parented, and its new parent may not have reaped it yet.
import { isProcessAlive } from '../../shared/process.js';
import { eventually, makeHost, startUpdater, type RunningUpdater, type TestHost } from './helpers/host.js';


describe('updater: a worker orphaned by its supervisor', function () {
  this.timeout(60_000);
  let host: TestHost;
  let sup: RunningUpdater | undefined;
  let worker: number | undefined;

  before(async () => {
    host = await makeHost();
  });
  after(async () => {
    if (worker !== undefined && isProcessAlive(worker)) process.kill(worker, 'SIGKILL');
    await sup?.stop();
    await host?.cleanup();
  });

  it('stops within the watch interval once its supervisor is gone, and says why', async () => {
    sup = await startUpdater(host, { supervise: true });
    const { pid } = JSON.parse(await readFile(join(host.installDir, 'state', 'updater.pid'), 'utf8')) as { pid: number };
    worker = pid;
    assert.notEqual(pid, sup.child.pid, 'the pid file names the worker, not the supervisor');
    sup.child.kill('SIGKILL');
    await sup.exited;
    await eventually(async () => (isProcessAlive(pid) ? undefined : true), 'the orphaned worker to exit', 15_000).catch((err: Error) => {
      throw new Error(`${err.message}; its last lines:\n${sup!.logs.slice(-8).join('\n')}`);
    });
    assert.ok(sup.logs.some((l) => l.includes('the supervisor') && l.includes('is gone')), sup.logs.slice(-5).join('\n'));
  });

  it('stops at once when its supervisor died while it was still starting (the pid it was given is not its parent)', async () => {
    // As a worker whose supervisor was SIGKILLed before the worker began to watch it: its parent is already another
    // process. Watching whatever the parent was at that point would never see a change, and the worker would stay.
    const orphan = await startUpdater(host, { env: { SWARM_UPDATER_SUPERVISED: '1', SWARM_UPDATER_SUPERVISOR_PID: '2147483646' } });
    try {
      const [code] = await orphan.exited;
      assert.equal(code, 1);
      assert.ok(orphan.logs.some((l) => l.includes('the supervisor (pid 2147483646) is gone')), orphan.logs.slice(-5).join('\n'));
    } finally {
      await orphan.stop();
    }
  });
});
