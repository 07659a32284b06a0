// The controller's pure decisions: renewal schedule, host views (online / offline), current certificates.
import assert from 'node:assert/strict';
import { buildHostView, currentCertificates } from '../../controller/host-view.js';
import { applyLabelChange } from '../../controller/store/index.js';
import { renewalDelay } from '../../controller-client/renewal.js';
import type { CertificateRecord } from '../../controller/store/index.js';
import { agentHealth, updaterStatus } from './helpers.js';

describe('renewal schedule', () => {
  it('renews at 2/3 of the lifetime, moved by at most 10% of the time left', () => {
    const w = { issuedAt: 0, notAfter: 9000 };
    assert.equal(renewalDelay(w, 0, () => 0.5), 6000);
    assert.equal(renewalDelay(w, 0, () => 0), 6000 - 900);
    assert.equal(renewalDelay(w, 0, () => 0.999999), 6000 + 900);
    assert.equal(renewalDelay(w, 3000, () => 0.5), 3000);
    assert.equal(renewalDelay(w, 8000, () => 0.5), 0, 'past due: now');
  });
});

describe('host view', () => {
  const host = { name: 'h1', address: null, labels: {}, createdAt: 0, enrolledAt: 1, removedAt: null };
  const base = { host, certs: [], channels: { agent: true, updater: true }, offlineTimeoutMs: 30_000 };
  it('is online until the channels have been silent for the timeout', () => {
    const reports = { hostName: 'h1', lastContact: 1000, agent: { report: agentHealth('r1', '1.0'), at: 1000, certNotAfter: 5000 }, updater: { report: updaterStatus('r0', '0.9'), at: 1000, certNotAfter: 6000 } };
    const v = buildHostView({ ...base, reports, now: 30_999 });
    assert.equal(v.online, true);
    assert.equal(v.release, 'r1', 'the agent says what runs');
    assert.equal(v.version, '1.0');
    assert.equal(v.updater?.active?.id, 'r0');
    assert.equal(buildHostView({ ...base, reports, now: 31_000 }).online, false);
    assert.equal(buildHostView({ ...base, reports: undefined, now: 0 }).online, false);
  });
  it('falls back to the updater\'s active release when the agent has not reported', () => {
    const reports = { hostName: 'h1', lastContact: 1000, agent: null, updater: { report: updaterStatus('r0', '0.9'), at: 1000, certNotAfter: null } };
    const v = buildHostView({ ...base, reports, now: 1000 });
    assert.equal(v.release, 'r0');
    assert.equal(v.health, null);
  });
  it('certificate expiry is the earliest among the newest unrevoked certificates', () => {
    const c = (serial: string, role: 'agent' | 'updater', issuedAt: number, notAfter: number, revokedAt: number | null = null): CertificateRecord =>
      ({ serial, role, name: 'h1', notBefore: 0, notAfter, issuedAt, revokedAt });
    const certs = [c('1', 'agent', 1, 100), c('2', 'agent', 2, 200), c('3', 'updater', 1, 150), c('4', 'updater', 3, 999, 5)];
    assert.deepEqual(currentCertificates(certs).map((x) => x.serial).sort(), ['2', '3']);
    assert.equal(buildHostView({ ...base, certs, reports: undefined, now: 0 }).certExpiry, new Date(150).toISOString());
  });
});

describe('renewal retries', () => {
  it('schedules at 2/3 of the lifetime and retries a failed renewal with exponential backoff and full jitter (clock seam)', async () => {
    const { mintIdentity } = await import('../helpers/pki.js');
    const { startRenewal } = await import('../../controller-client/renewal.js');
    const { silentLogger } = await import('../../shared/logger.js');
    const id = await mintIdentity('agent', 'rt1', { lifetimeMs: 60_000 });
    const timers: number[] = [];
    const clock = {
      now: () => Date.now(),
      setTimeout: (_fn: () => void, ms: number) => {
        timers.push(ms);
        return setTimeout(() => undefined, 0);
      },
      clearTimeout: (h: NodeJS.Timeout) => clearTimeout(h),
      delay: async () => undefined,
    };
    const r = startRenewal({
      controllerUrl: 'https://127.0.0.1:1', pkiDir: '/nonexistent', base: 'agent', material: () => id.material,
      onRenewed: () => undefined, logger: silentLogger(), clock, random: () => 0.5, retryBaseMs: 1000,
    });
    assert.equal(timers.length, 1);
    assert.ok(Math.abs(timers[0]! - 40_000) < 2_000, `first renewal at 2/3 of 60 s, got ${timers[0]}`);
    await assert.rejects(r.renewNow(), /SWARM_ERR_CONTROLLER_UNREACHABLE|cannot reach/);
    assert.equal(timers.length, 2);
    assert.equal(timers[1], 500, 'full jitter of the first backoff step (1 s * 0.5)');
    await assert.rejects(r.renewNow());
    await assert.rejects(r.renewNow());
    assert.deepEqual(timers.slice(2), [1000, 2000]);
    r.stop();
  });
});

describe('label change', () => {
  it('sets, then removes, and leaves the input alone', () => {
    const labels = { a: '1', b: '2' };
    assert.deepEqual(applyLabelChange(labels, { set: { b: '3', c: '4' }, remove: ['a'] }), { b: '3', c: '4' });
    assert.deepEqual(applyLabelChange(labels, { set: { d: '5' }, remove: ['d', 'nope'] }), { a: '1', b: '2' }, 'a key set and removed ends up removed');
    assert.deepEqual(labels, { a: '1', b: '2' });
  });
});
