// The dashboard's live hub in-process, on a scripted controller: browsers get only the hosts that changed (with the
// version they apply to), the poll runs only while a tab listens, the controller's reachability is reported, and
// a stream that comes back asks the pages to re-read what they show.
import assert from 'node:assert/strict';
import type { z } from 'zod';
import { LiveHub, type HubMessage } from '../../cli/dashboard/hub.js';
import type { DashboardSource, StreamEvent } from '../../cli/dashboard/source.js';
import { remoteError } from '../../shared/remote-errors.js';
import { runBin, SWARMCTL_BIN } from '../controller/helpers.js';
import { pollUntil } from '../helpers/wait.js';

function host(name: string, online = true): Record<string, unknown> {
  return { name, address: null, labels: {}, enrolled: true, online, lastContact: null, release: null, version: null, health: null, agent: null, updater: null, certExpiry: null, channels: { agent: false, updater: online } };
}
const STATUS = { cluster: 'c', hosts: { total: 0, enrolled: 0, online: 0, offline: 0, pending: 0 }, health: {}, releases: [], channels: { agent: 0, updater: 0 }, certificates: { active: 0, revoked: 0, expiringSoon: 0 } };

/** A controller whose host list, reachability and event stream the test sets. */
function scripted() {
  const state = { hosts: [host('a'), host('b')], down: false, reads: 0, streams: 0, streamFail: false };
  const source: DashboardSource = {
    controller: 'https://c', operator: 'admin',
    async read<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>> {
      if (path === '/v1/hosts') state.reads++;
      if (state.down) throw remoteError('SWARM_ERR_CONTROLLER_UNREACHABLE', 'cannot reach the controller at https://c (ECONNREFUSED)');
      return schema.parse(path === '/v1/hosts' ? state.hosts : STATUS) as z.output<S>;
    },
    async streamEvents(signal, _onEvent: (e: StreamEvent) => void, onFrame) {
      state.streams++;
      if (state.streamFail) throw new Error('stream refused');
      onFrame();
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    },
  };
  return { state, source };
}

describe('swarmctl dashboard: the live hub', () => {
  it('sends only the hosts that changed, with the version they apply to, and polls only while a tab listens', async () => {
    const { state, source } = scripted();
    const hub = new LiveHub(source, { pollMs: 20, batchMs: 10, backoffBaseMs: 10, backoffMaxMs: 20 });
    const first = await hub.hosts();
    assert.deepEqual(first.hosts.map((h) => h.name), ['a', 'b']);
    const got: HubMessage[] = [];
    const stop = hub.subscribe((m) => got.push(m));
    assert.deepEqual(got[0], { event: 'health', data: hub.health }, 'a new tab hears the controller state at once');
    state.hosts = [host('a', false), host('c')];
    const diff = await pollUntil('a hosts diff', () => got.find((m) => m.event === 'hosts'), { timeoutMs: 5_000, everyMs: 10 });
    assert.ok(diff.event === 'hosts');
    assert.deepEqual(diff.data.changed.map((h) => [h.name, h.online]), [['a', false], ['c', true]]);
    assert.deepEqual(diff.data.removed, ['b']);
    assert.equal(diff.data.base, first.version);
    assert.equal(diff.data.version, first.version + 1);
    stop();
    const reads = state.reads;
    await new Promise((r) => setTimeout(r, 100)); // an absence: no poll without a listener (five intervals)
    assert.equal(state.reads, reads, 'no poll once the last tab left');
    hub.close();
  });

  it('reports the controller unreachable and back, and asks pages to re-read after the stream returns', async () => {
    const { state, source } = scripted();
    state.streamFail = true;
    const hub = new LiveHub(source, { pollMs: 20, batchMs: 10, backoffBaseMs: 10, backoffMaxMs: 20 });
    const got: HubMessage[] = [];
    const stop = hub.subscribe((m) => got.push(m));
    state.down = true;
    await pollUntil('unreachable', () => (got.some((m) => m.event === 'health' && !m.data.ok) ? true : undefined), { timeoutMs: 5_000, everyMs: 10 });
    const down = got.find((m) => m.event === 'health' && !m.data.ok);
    assert.ok(down?.event === 'health' && /ECONNREFUSED/.test(down.data.message ?? ''));
    state.down = false;
    state.streamFail = false;
    await pollUntil('reachable again', () => (hub.health.ok ? true : undefined), { timeoutMs: 5_000, everyMs: 10 });
    const resync = await pollUntil('a resync', () => got.find((m) => m.event === 'rollouts' && m.data.resync), { timeoutMs: 5_000, everyMs: 10 });
    assert.ok(resync.event === 'rollouts');
    stop();
    hub.close();
  });
});

describe('swarmctl dashboard: the command', () => {
  it('refuses to listen beyond loopback (SWARM_ERR_DASHBOARD_NOT_LOOPBACK, exit 1) before reading any identity', async () => {
    const r = await runBin(SWARMCTL_BIN, ['dashboard', '--listen', '0.0.0.0:0', '--no-open'], { SWARMCTL_IDENTITY: '/nonexistent' });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /loopback only.*ssh -L.*\[SWARM_ERR_DASHBOARD_NOT_LOOPBACK\]\n$/);
    const bad = await runBin(SWARMCTL_BIN, ['dashboard', '--listen', 'nowhere', '--no-open']);
    assert.equal(bad.code, 2, 'bad usage');
  });
});
