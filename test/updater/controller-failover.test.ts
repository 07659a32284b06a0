// A real updater given two controller URLs, the first dead: its channel comes up on the second, and
// `swarm-updater status` (state/link.json) names the controller in use.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readLinkState } from '../../updater/link-state.js';
import { freePort } from '../helpers/ports.js';
import { enrollDirectly, startInProcessController, type InProcessController } from '../controller/helpers.js';
import { eventually, makeHost, startUpdater, type RunningUpdater, type TestHost } from './helpers/host.js';

describe('updater: several controller URLs', function () {
  this.timeout(60_000);
  let ctl: InProcessController | undefined;
  let host: TestHost | undefined;
  let updater: RunningUpdater | undefined;

  after(async () => {
    await updater?.stop();
    await host?.cleanup();
    await ctl?.close();
  });

  it('connects through the live controller when the first URL is dead, and status names it', async () => {
    const dead = `https://127.0.0.1:${await freePort()}`;
    ctl = await startInProcessController({ heartbeatMs: 500, reportFlushMs: 50 });
    await enrollDirectly(ctl.store, 'h1');
    host = await makeHost();
    updater = await startUpdater(host, { args: ['--controller', dead, '--controller', ctl.url] });
    const link = await eventually(async () => {
      const l = await readLinkState(join(host!.installDir, 'state', 'link.json'));
      return l?.state === 'connected' ? l : undefined;
    }, 'the updater channel up');
    assert.equal(link.controller, ctl.url);
    await eventually(async () => ((await ctl!.store.listReports()).find((r) => r.hostName === 'h1')?.updater ? true : undefined), 'the report at the live controller');
  });
});
