// The engine's pure helpers: targets, strategy defaults, the resumed state, the header's "from", rollback answers.
import assert from 'node:assert/strict';
import type { ChannelHub } from '../../../controller/channels.js';
import type { ReportCache } from '../../../controller/reports.js';
import { controllerFleet } from '../../../controller/rollout/fleet-source.js';
import { judgeRollbackAnswer } from '../../../controller/rollout/fleet-rollback.js';
import type { Store } from '../../../controller/store/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { DEFAULT_STRATEGY, resolveStrategy, selectHosts, type FleetHost } from '../../../controller/rollout/targets.js';
import { commonFrom, resumedState } from '../../../controller/rollout/view.js';
import type { RolloutHostRecord } from '../../../controller/store/index.js';

const host = (name: string, labels: Record<string, string> = {}): FleetHost => ({ name, address: null, labels, release: null, updaterOnline: true });
const row = (name: string, state: RolloutHostRecord['state'], from: string | null): RolloutHostRecord => ({ rolloutId: 'r', name, wave: 0, state, error: null, from, pushStartedAt: null, startedAt: null, endedAt: null });

describe('rollout engine helpers (pure)', () => {
  it('gives a closed updater channel the offline timeout to come back, from its last sign of life or the controller\'s start', async () => {
    const clock = new FakeClock();
    const startedAt = clock.now();
    const open = new Set(['up']);
    const seen = new Map([['dropped', startedAt + 5_000]]);
    const hosts = ['up', 'dropped', 'never', 'reported'].map((name) => ({ name, enrolledAt: 1, address: '127.0.0.1:1', labels: {} }));
    const fleet = controllerFleet({
      store: { listHosts: async () => hosts } as unknown as Store,
      reports: { get: (h: string) => (h === 'reported' ? { updater: { at: startedAt + 2_000, report: {} } } : undefined) } as unknown as ReportCache,
      hub: { startedAt, isOpen: (_role: string, h: string) => open.has(h), lastSeen: (_role: string, h: string) => seen.get(h) } as unknown as ChannelHub,
      clock, offlineTimeoutMs: 30_000,
    });
    const view = async () => Object.fromEntries((await fleet.list()).map((h) => [h.name, [h.updaterOnline, h.reconnectBy]]));
    clock.advance(10_000);
    assert.deepEqual(await view(), { up: [true, null], dropped: [false, startedAt + 35_000], never: [false, startedAt + 30_000], reported: [true, null] }, 'right after a restart nobody is offline yet; a fresh report counts as online');
    clock.advance(21_000);
    assert.deepEqual(await view(), { up: [true, null], dropped: [false, startedAt + 35_000], never: [false, null], reported: [true, null] }, 'a host silent since the start is offline after the timeout');
    clock.advance(5_000);
    assert.deepEqual(await view(), { up: [true, null], dropped: [false, null], never: [false, null], reported: [false, null] });
  });

  it('selects hosts by all, names (refusing unknown ones) or selector, sorted by name', () => {
    const fleet = [host('b', { site: 'x' }), host('a', { site: 'y' }), host('c', { site: 'x' })];
    assert.deepEqual(selectHosts(fleet, { all: true }).map((h) => h.name), ['a', 'b', 'c']);
    assert.deepEqual(selectHosts(fleet, { hosts: ['c', 'a', 'c'] }).map((h) => h.name), ['a', 'c']);
    assert.deepEqual(selectHosts(fleet, { selector: 'site=x' }).map((h) => h.name), ['b', 'c']);
    assert.throws(() => selectHosts(fleet, { hosts: ['a', 'zz'] }), { code: 'SWARM_ERR_HOST_NOT_FOUND', message: /zz/ });
    assert.throws(() => selectHosts(fleet, { selector: 'nonsense' }), { code: 'SWARM_ERR_BAD_REQUEST' });
  });
  it('fills strategy defaults and names a field out of bounds', () => {
    assert.deepEqual(resolveStrategy({}), DEFAULT_STRATEGY);
    assert.deepEqual(resolveStrategy({ canary: 0, maxParallel: 3 }), { ...DEFAULT_STRATEGY, canary: 0, maxParallel: 3 });
    assert.throws(() => resolveStrategy({ hostDeadlineMs: 10 }), { code: 'SWARM_ERR_BAD_REQUEST', message: /hostDeadlineMs/ });
  });
  it('resumes to where the waves were, and names a common "from" only when every changed host shares it', () => {
    const s = DEFAULT_STRATEGY;
    assert.equal(resumedState({ currentWave: -1, strategy: s }), 'pending');
    assert.equal(resumedState({ currentWave: 0, strategy: s }), 'canary');
    assert.equal(resumedState({ currentWave: 0, strategy: { ...s, canary: 0 } }), 'rolling');
    assert.equal(resumedState({ currentWave: 2, strategy: s }), 'rolling');
    assert.equal(commonFrom([row('a', 'succeeded', 'x'), row('b', 'pending', 'x'), row('c', 'skipped', 'y')]), 'x');
    assert.equal(commonFrom([row('a', 'succeeded', 'x'), row('b', 'pending', 'z')]), null);
  });
  it('reads a rollback answer: 200 with the record, a refusal\'s code, or not understood', () => {
    const record = { id: 'rollback-1', kind: 'rollback', state: 'rolled-back', release: null, from: null, to: { id: 'e'.repeat(64), version: '1.0.0', dir: `1.0.0-${'e'.repeat(12)}` }, startedAt: 'x', endedAt: 'y', error: null, steps: [] };
    assert.deepEqual(judgeRollbackAnswer('h', 200, record), { name: 'h', state: 'rolled-back', release: 'e'.repeat(64), error: null });
    assert.deepEqual(judgeRollbackAnswer('h', 409, { code: 'SWARM_ERR_UPDATER_NO_ROLLBACK_TARGET', message: 'none' }), { name: 'h', state: 'failed', release: null, error: { code: 'SWARM_ERR_UPDATER_NO_ROLLBACK_TARGET', message: 'none' } });
    assert.equal(judgeRollbackAnswer('h', 500, null).error!.code, 'SWARM_ERR_ROLLOUT_PUSH_FAILED');
  });
});
