// swarm-controller.service is Type=notify with a watchdog: serve must say READY=1 once it listens, keep pinging,
// and say STOPPING=1 when it stops; without NOTIFY_SOCKET it sends nothing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { initStateDir, serveController } from '../../controller/index.js';
import { silentLogger } from '../../shared/logger.js';
import { tempDir } from '../helpers/pki.js';
import { pollUntil } from '../helpers/wait.js';

async function serveOnce(env: NodeJS.ProcessEnv): Promise<string[][]> {
  const dir = await tempDir('swarm-ctl-notify-');
  const stateDir = join(dir.path, 's');
  await initStateDir({ stateDir, cluster: 'test', sans: ['127.0.0.1'] });
  const sent: string[][] = [];
  let stop: () => void = () => undefined;
  let listening: (url: string) => void = () => undefined;
  const up = new Promise<string>((resolve) => (listening = resolve));
  const served = serveController({
    stateDir, host: '127.0.0.1', port: 0, logger: silentLogger(), onListening: listening,
    until: new Promise<void>((resolve) => (stop = resolve)),
    notify: { env, runner: async (args) => void sent.push([...args]) },
  });
  try {
    const url = await Promise.race([up, served.then(() => Promise.reject(new Error('serve ended before listening')))]);
    if (env.NOTIFY_SOCKET) {
      await pollUntil('two watchdog pings', () => (sent.filter((m) => m.includes('WATCHDOG=1')).length >= 2 ? true : undefined));
      assert.ok(sent[0]?.includes('READY=1') && sent[0].includes(`STATUS=serving on ${url}`), JSON.stringify(sent[0]));
    }
  } finally {
    stop();
    await served;
    await dir.cleanup();
  }
  return sent;
}

describe('controller: systemd notifications (Type=notify)', () => {
  it('sends READY=1 once listening, WATCHDOG=1 at half of WATCHDOG_USEC, and STOPPING=1 last', async () => {
    const sent = await serveOnce({ NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '100000' });
    assert.ok(sent.every((m) => m[0] === `--pid=${process.pid}`), 'every message names the controller process');
    assert.ok(sent.at(-1)?.includes('STOPPING=1'), JSON.stringify(sent.at(-1)));
  });

  it('sends nothing outside systemd', async () => {
    assert.deepEqual(await serveOnce({}), []);
  });
});
