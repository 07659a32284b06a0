// The updater's controller link state: written for `swarm-updater status`, one warning per outage for a wrong --controller.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { LinkStateFile, readLinkState } from '../../updater/link-state.js';
import { pollUntil } from '../helpers/wait.js';
import { tempDir } from '../helpers/pki.js';

describe('updater controller link state', () => {
  it('records connecting, each failure (warning once per outage), connected, and a drop', async () => {
    const t = await tempDir();
    try {
      const lines: Array<{ level: number; msg: string }> = [];
      const logger = pino({ level: 'info' }, new Writable({ write(c: Buffer, _e, cb) { lines.push(JSON.parse(c.toString()) as { level: number; msg: string }); cb(); } }));
      let now = Date.parse('2026-12-01T00:00:00Z');
      const path = join(t.path, 'link.json');
      const link = new LinkStateFile(path, 'https://ctl.example:8770', logger, () => now);
      await pollUntil('the first state on disk', async () => (await readLinkState(path))?.state === 'connecting' || undefined, { timeoutMs: 5000 });
      now += 1000;
      link.failed('connect ECONNREFUSED 127.0.0.1:1');
      link.failed('connect ECONNREFUSED 127.0.0.1:1');
      assert.equal(lines.filter((l) => l.level === 40).length, 1, 'one warning per outage');
      assert.match(lines.find((l) => l.level === 40)!.msg, /cannot reach the controller at https:\/\/ctl\.example:8770: connect ECONNREFUSED.*check --controller/);
      const failing = await pollUntil('the failure on disk', async () => {
        const s = await readLinkState(path);
        return s?.lastError ? s : undefined;
      }, { timeoutMs: 5000 });
      assert.equal(failing.state, 'connecting');
      now += 1000;
      link.connected();
      const up = await pollUntil('connected on disk', async () => {
        const s = await readLinkState(path);
        return s?.state === 'connected' ? s : undefined;
      }, { timeoutMs: 5000 });
      assert.equal(up.since, new Date(now).toISOString());
      link.failed('channel closed (1006)');
      assert.equal(link.get().state, 'disconnected');
      assert.equal(lines.filter((l) => l.level === 40).length, 2, 'a new outage warns again');
      await link.settled();
      assert.equal((await readLinkState(path))?.state, 'disconnected');
    } finally {
      await t.cleanup();
    }
  });

  it('names the controller in use when there are several (replicas): the one connected, or the one last tried', async () => {
    const t = await tempDir();
    try {
      const path = join(t.path, 'link.json');
      const link = new LinkStateFile(path, 'https://ctl-a.example:8770', pino({ level: 'silent' }));
      link.failed('connect ECONNREFUSED', 'https://ctl-a.example:8770');
      link.connected('https://ctl-b.example:8770');
      const up = await pollUntil('connected to b on disk', async () => {
        const s = await readLinkState(path);
        return s?.state === 'connected' ? s : undefined;
      }, { timeoutMs: 5000 });
      assert.equal(up.controller, 'https://ctl-b.example:8770');
      link.failed('channel closed (1006)', 'https://ctl-b.example:8770');
      link.failed('connect ECONNREFUSED', 'https://ctl-a.example:8770');
      assert.deepEqual([link.get().controller, link.get().state], ['https://ctl-a.example:8770', 'disconnected']);
      // Every write landed before the directory goes: one still in flight made the cleanup fail (ENOTEMPTY).
      await link.settled();
      assert.deepEqual(await readLinkState(path).then((x) => [x?.controller, x?.state]), ['https://ctl-a.example:8770', 'disconnected']);
    } finally {
      await t.cleanup();
    }
  });
});
