// The updater cuts its own status to the controller's bounds: an honest updater is never refused, whatever its records say.
import assert from 'node:assert/strict';
import { UpdaterReportMessageSchema } from '../../shared/channel-protocol.js';
import { formatZodIssues } from '../../shared/validation.js';
import type { UpdaterStatus } from '../../shared/wire.js';
import { boundUpdaterStatus } from '../../updater/channel-report.js';
import { updaterStatus } from '../controller/helpers.js';

describe('boundUpdaterStatus', () => {
  it('turns a status with hostile error text, 100 steps and 100 bad releases into a report the controller accepts', () => {
    const at = new Date().toISOString();
    const raw: UpdaterStatus = {
      ...updaterStatus(),
      lastOperation: {
        id: 'op-1', kind: 'update', state: 'refused', release: { id: 'not-hex\u001b]0;owned\u0007', version: null }, from: null, to: null,
        startedAt: at, endedAt: at,
        error: { code: 'SWARM_ERR_TAR_BAD_NAME', message: `tar entry "evil\u001b[2J\n${'x'.repeat(600)}" has a control character` },
        steps: Array.from({ length: 100 }, (_, i) => ({ at, step: `step-${i}`, detail: `detail \u202e${i}` })),
      },
      badReleases: Array.from({ length: 100 }, (_, i) => i.toString(16).padStart(64, '0')),
    };
    assert.equal(UpdaterReportMessageSchema.safeParse({ type: 'report', report: raw, certNotAfter: at }).success, false, 'raw status is out of bounds');
    const bounded = boundUpdaterStatus(raw);
    const r = UpdaterReportMessageSchema.safeParse({ type: 'report', report: bounded, certNotAfter: at });
    assert.ok(r.success, r.success ? '' : formatZodIssues(r.error));
    assert.equal(bounded.lastOperation!.steps.length, 32);
    assert.equal(bounded.lastOperation!.steps.at(-1)!.step, 'step-99', 'the newest steps are kept');
    assert.equal(bounded.badReleases.length, 64);
    assert.equal(bounded.badReleases.at(-1), (99).toString(16).padStart(64, '0'), 'the newest marks are kept');
    assert.match(bounded.lastOperation!.error!.message, /^tar entry "evil\\x1b\[2J\\x0axxx/);
  });
});
