// Channel reports are bounded and printable at the schema: a compromised host cannot send terminal escapes or bulk (hardening items 6, 8).
import assert from 'node:assert/strict';
import { AgentReportMessageSchema, MAX_CHANNEL_MESSAGE_BYTES, UpdaterReportMessageSchema } from '../../shared/channel-protocol.js';
import { escapeUnsafeChars, isPrintable } from '../../shared/printable.js';
import { AgentServiceStatusSchema, type AgentHealth, type UpdaterStatus } from '../../shared/wire.js';
import { agentHealth, updaterStatus } from '../controller/helpers.js';
import { maximalAgentHealth, maximalUpdaterStatus } from '../helpers/reports.js';

const certNotAfter = '2030-01-01T00:00:00.000Z';
const agentMessage = (report: AgentHealth): unknown => ({ type: 'report', report, certNotAfter });
const updaterMessage = (report: UpdaterStatus): unknown => ({ type: 'report', report, certNotAfter });

/** What an attacker puts in a string: clear the screen, write the clipboard (OSC 52), set the title, reorder text. */
const HOSTILE = {
  esc: '1.2.3\u001b[2J',
  osc52: '1.2.3\u001b]52;c;cm0gLXJmIH4K\u0007',
  c1: '1.2.3\u009b2J',
  bidi: '1.2.3\u202e',
  zeroWidth: '1.2.3\u200b',
  newline: '1.2.3\nhost evil online',
};

describe('channel report schemas (hostile strings)', () => {
  it('accept an honest agent and updater report, and an agent outside a release ("unknown")', () => {
    assert.ok(AgentReportMessageSchema.safeParse(agentMessage(agentHealth())).success);
    assert.ok(UpdaterReportMessageSchema.safeParse(updaterMessage(updaterStatus())).success);
    assert.ok(AgentReportMessageSchema.safeParse(agentMessage({ ...agentHealth(), release: 'unknown', version: 'unknown' })).success);
  });

  for (const [what, s] of Object.entries(HOSTILE)) {
    it(`refuse ${what} in the version, a service name, the release and the updater's fields`, () => {
      const base = agentHealth();
      const cases: Array<[string, unknown]> = [
        ['agent version', agentMessage({ ...base, version: s })],
        ['service name', agentMessage({ ...base, services: [{ ...base.services[0]!, name: `sensor${s}` }] })],
        ['agent release', agentMessage({ ...base, release: `${'a'.repeat(63)}${s}` })],
      ];
      for (const [field, msg] of cases) assert.equal(AgentReportMessageSchema.safeParse(msg).success, false, `${field} with ${what}`);
      const u = updaterStatus();
      const op = { ...maximalUpdaterStatus().lastOperation!, steps: [] };
      const updaterCases: Array<[string, UpdaterStatus]> = [
        ['updater version', { ...u, version: s }],
        ['active release version', { ...u, active: { ...u.active!, version: s } }],
        ['running', { ...u, running: s }],
        ['operation error', { ...u, lastOperation: { ...op, error: { code: 'SWARM_ERR_X', message: s } } }],
        ['operation step', { ...u, lastOperation: { ...op, steps: [{ at: certNotAfter, step: 'unhealthy', detail: s }] } }],
        ['nested agent', { ...u, agent: { ...base, version: s } }],
      ];
      for (const [field, status] of updaterCases) assert.equal(UpdaterReportMessageSchema.safeParse(updaterMessage(status)).success, false, `${field} with ${what}`);
    });
  }

  it('refuse a report with 65 services', () => {
    const base = agentHealth();
    const services = Array.from({ length: 65 }, (_, i) => ({ ...base.services[0]!, name: `svc${i}` }));
    assert.equal(AgentReportMessageSchema.safeParse(agentMessage({ ...base, services: services.slice(0, 64) })).success, true);
    assert.equal(AgentReportMessageSchema.safeParse(agentMessage({ ...base, services })).success, false);
  });

  it('refuse over-long strings and arrays', () => {
    const u = maximalUpdaterStatus();
    const op = u.lastOperation!;
    const over: Array<[string, UpdaterStatus]> = [
      ['error message of 257 characters', { ...u, lastOperation: { ...op, error: { code: 'SWARM_ERR_X', message: 'm'.repeat(257) } } }],
      ['step detail of 257 characters', { ...u, lastOperation: { ...op, steps: [{ at: certNotAfter, step: 's', detail: 'd'.repeat(257) }] } }],
      ['33 steps', { ...u, lastOperation: { ...op, steps: [...op.steps, op.steps[0]!] } }],
      ['65 bad releases', { ...u, badReleases: [...u.badReleases, 'c'.repeat(64)] }],
      ['a version of 65 characters', { ...u, version: `v${'1'.repeat(64)}` }],
      ['a start time that is not a date', { ...u, startedAt: 'yesterday, honest' }],
    ];
    for (const [what, status] of over) assert.equal(UpdaterReportMessageSchema.safeParse(updaterMessage(status)).success, false, what);
    const line = { at: certNotAfter, stream: 'stdout', line: 'x'.repeat(4097), truncated: false };
    const svc = { name: 'sensor', state: 'running', required: true, restart: 'always', restarts: 0, pid: 1, startedAt: null, stable: true, recentCrashes: 0, lastExit: null };
    assert.equal(AgentServiceStatusSchema.safeParse({ ...svc, output: [line] }).success, false, 'an output line of 4,097 characters');
    assert.equal(AgentServiceStatusSchema.safeParse({ ...svc, output: [{ ...line, line: '\u001b[31mred\u001b[0m' }] }).success, true, 'output lines are free text, escaped on display');
  });

  it('fit the largest valid reports well inside the message cap', () => {
    const updater = JSON.stringify(updaterMessage(maximalUpdaterStatus()));
    const agent = JSON.stringify(agentMessage(maximalAgentHealth()));
    assert.ok(UpdaterReportMessageSchema.safeParse(JSON.parse(updater)).success);
    assert.ok(AgentReportMessageSchema.safeParse(JSON.parse(agent)).success);
    assert.ok(Buffer.byteLength(updater) < MAX_CHANNEL_MESSAGE_BYTES * 0.75, `${Buffer.byteLength(updater)} bytes against a cap of ${MAX_CHANNEL_MESSAGE_BYTES}`);
    assert.ok(MAX_CHANNEL_MESSAGE_BYTES <= 64 * 1024, 'far below the former 256 KiB');
  });
});

describe('escapeUnsafeChars', () => {
  it('shows control, bidi and zero-width characters as visible escapes and leaves the rest alone', () => {
    assert.equal(escapeUnsafeChars('a\u001b[2Jb\u0007\u009b\u007f'), 'a\\x1b[2Jb\\x07\\x9b\\x7f');
    assert.equal(escapeUnsafeChars('\u202eabc\u2066\u200b\ufeff'), '\\u202eabc\\u2066\\u200b\\ufeff');
    assert.equal(escapeUnsafeChars('tab\there\nline'), 'tab\\x09here\\x0aline');
    assert.equal(escapeUnsafeChars('sensor-17 1.2.3 ü € 日本'), 'sensor-17 1.2.3 ü € 日本');
    assert.equal(isPrintable(escapeUnsafeChars('\u001b]52;c;x\u0007\u202e')), true);
  });
});
