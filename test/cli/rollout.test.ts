// swarmctl rollout / rollback / updater self-update in-process against an in-process controller with the fake
// rollout service: exit codes, JSON shapes, the live view's line output, refusal of bad flags.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { buildSwarmctl } from '../../cli/index.js';
import { runCli } from '../../shared/cli.js';
import { FleetRollbackReportSchema, RolloutPlanSchema, RolloutSchema } from '../../shared/rollout-api.js';
import { startInProcessController, waitFor, type InProcessController } from '../controller/helpers.js';
import { FakeRolloutService } from '../helpers/fake-rollouts.js';
import { mintIdentity, tempDir, writeIdentity } from '../helpers/pki.js';

const R1 = 'a1'.repeat(32);
const R2 = 'b2'.repeat(32);

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/u;

describe('swarmctl rollout, rollback, updater self-update (fake rollout service)', function () {
  this.timeout(30_000);
  let ctl: InProcessController;
  let fake: FakeRolloutService;
  let dir: { path: string; cleanup(): Promise<void> };
  let identity: string;
  let serial: string;

  before(async () => {
    fake = new FakeRolloutService({
      releases: [{ id: R1, version: '1.0.0' }, { id: R2, version: '2.0.0' }],
      hosts: ['h1', 'h2', 'h3', 'h4'].map((name, i) => ({ name, release: i === 3 ? R2 : R1, labels: { site: i < 2 ? 'lab' : 'field' } })),
    });
    ctl = await startInProcessController({ rollouts: fake });
    dir = await tempDir('swarmctl-rollout-');
    identity = join(dir.path, 'alice');
    const alice = await mintIdentity('operator', 'alice');
    serial = alice.serial;
    await writeIdentity(identity, alice, 'operator');
  });
  after(async () => {
    await ctl?.close();
    await dir?.cleanup();
  });
  afterEach(() => {
    fake.onStart = undefined;
  });

  const run = async (args: string[], opts: { tty?: boolean; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> => {
    let stdout = '';
    let stderr = '';
    const out = { write: (s: string) => ((stdout += s), true), isTTY: opts.tty === true, columns: 200 } as unknown as NodeJS.WritableStream;
    const err = { write: (s: string) => ((stderr += s), true) } as unknown as NodeJS.WritableStream;
    const env = { SWARMCTL_CONTROLLER: ctl.url, SWARMCTL_IDENTITY: identity, NO_COLOR: '1', ...opts.env };
    const code = await runCli(buildSwarmctl({ stdout: out, stderr: err, env }), args, { stdout: out, stderr: err });
    return { code, stdout, stderr };
  };
  const oneLine = (stderr: string): string => {
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one stderr line, got: ${stderr}`);
    return lines[0]!;
  };

  it('refuses bad flags with exit 2, naming the flag, before calling the controller', async () => {
    const before = fake.calls.length;
    const cases: Array<[string[], RegExp]> = [
      [['rollout', 'start', '2.0.0'], /--all, --hosts A,B or --selector K=V/],
      [['rollout', 'start', '2.0.0', '--all', '--hosts', 'h1'], /only one of --all, --hosts/],
      [['rollout', 'start', '2.0.0', '--all', '--batch', '0'], /--batch/],
      [['rollout', 'start', '2.0.0', '--all', '--max-failures', 'many'], /--max-failures/],
      [['rollout', 'start', '2.0.0', '--all', '--pause-between', 'soon'], /--pause-between/],
      [['rollout', 'start', '2.0.0', '--all', '--host-deadline', '1ms'], /--host-deadline/],
      [['rollout', 'plan', '2.0.0', '--all', '--max-parallel', '0'], /--max-parallel/],
      [['rollout', 'plan', '2.0.0', '--selector', 'oops'], /--selector/],
      [['rollout', 'resume', 'r1', '--max-failures', '120%'], /--max-failures/],
      [['rollout', 'status', 'a b'], /not a rollout id/],
      [['rollout', 'start', '2.0.0', '--all', '--frobnicate'], /--frobnicate/],
      [['rollback'], /HOST\.\.\., --all, --selector K=V or --rollout ID/],
      [['rollback', 'h1', '--all'], /only one of/],
      [['rollback', '--all', '--parallel', 'x'], /--parallel/],
      [['updater', 'self-update', '0.2.0'], /--all, --hosts A,B or --selector K=V/],
    ];
    for (const [args, re] of cases) {
      const r = await run(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(oneLine(r.stderr), re, args.join(' '));
    }
    assert.equal(fake.calls.length, before, 'nothing reached the controller');
  });

  it('rollout plan prints the waves and changes nothing; --json prints the plan', async () => {
    const r = await run(['rollout', 'plan', '2.0.0', '--all', '--batch', '2']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^wave 0 \(canary\): h1$/m);
    assert.match(r.stdout, /^wave 1: h2, h3$/m);
    assert.match(r.stdout, /^skipped \(already on it\): h4$/m);
    assert.match(r.stdout, /nothing was changed/);
    const j = await run(['--json', 'rollout', 'plan', '2.0.0', '--hosts', 'h1,h2', '--canary', '0']);
    assert.deepEqual(RolloutPlanSchema.parse(JSON.parse(j.stdout)).waves, [['h1', 'h2']]);
    assert.equal(fake.calls.filter((c) => c.method === 'start').length, 0);
    // The strategy sent is complete: every default filled from one place.
    assert.deepEqual((fake.calls.filter((c) => c.method === 'plan').at(-1)!.args[0] as { strategy: unknown }).strategy, { canary: 0, batch: { percent: 25 }, maxParallel: 10, maxFailures: { count: 0 }, pauseBetweenMs: 0, hostDeadlineMs: 300_000 });
  });

  it('rollout start without --wait prints the id; an unknown release exits 1 with its code', async () => {
    const r = await run(['rollout', 'start', '2.0.0', '--selector', 'site=lab', '--max-failures', '50%']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^started rollout (r\d+): 2\.0\.0 \(b2b2b2b2b2b2\) to 2 host\(s\) in 2 wave\(s\)$/m);
    assert.match(r.stdout, /swarmctl rollout watch r\d+/);
    const missing = await run(['rollout', 'start', '9.9.9', '--all']);
    assert.equal(missing.code, 1);
    assert.match(oneLine(missing.stderr), /no release matches "9\.9\.9".*\[SWARM_ERR_RELEASE_NOT_FOUND\]$/);
  });

  it('rollout start --wait --json prints only the final rollout and exits 0 when every host succeeded', async () => {
    fake.onStart = (r) => void fake.drive(r.id);
    const r = await run(['--json', 'rollout', 'start', '2.0.0', '--all', '--wait']);
    assert.equal(r.code, 0, r.stderr);
    const final = RolloutSchema.parse(JSON.parse(r.stdout));
    assert.equal(final.state, 'done');
    assert.deepEqual(final.hosts.map((h) => [h.name, h.state]), [['h1', 'succeeded'], ['h2', 'succeeded'], ['h3', 'succeeded'], ['h4', 'skipped']]);
    assert.equal(r.stderr, '');
  });

  it('rollout start --wait in a pipe prints one line per event, then the summary, and exits 1 when the budget pauses it', async () => {
    fake.onStart = (r) => void fake.drive(r.id, { h2: 'rolled-back' }, { h2: { code: 'SWARM_ERR_UPDATER_PROBE_FAILED', message: 'agent \u001b[31mfailing' } });
    const r = await run(['rollout', 'start', '2.0.0', '--all', '--wait']);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^started rollout r\d+$/);
    assert.ok(lines.some((l) => /^\d\d:\d\d:\d\d {2}started {2}rollout of 2\.0\.0/.test(l)), r.stdout);
    assert.ok(lines.some((l) => /host-succeeded {2}h1 wave 0 {2}h1 succeeded$/.test(l)), r.stdout);
    assert.ok(lines.some((l) => /host-rolled-back {2}h2 wave 1 {2}h2 rolled-back: SWARM_ERR_UPDATER_PROBE_FAILED agent \\x1b\[31mfailing$/.test(l)), r.stdout);
    assert.ok(lines.some((l) => /paused {2}rollout paused \(budget-exceeded\) {2}\(reason budget-exceeded\)$/.test(l)), r.stdout);
    assert.match(lines.at(-1)!, /^rollout r\d+ paused \(budget-exceeded\): 1 succeeded, 1 skipped, 0 failed, 1 rolled back, 0 unreachable, 1 not done$/);
    // Every event once, in order.
    const seqTypes = lines.filter((l) => /^\d\d:\d\d:\d\d/.test(l)).map((l) => l.split('  ')[1]);
    assert.deepEqual(seqTypes, ['started', 'host-pushing', 'host-succeeded', 'host-pushing', 'host-rolled-back', 'paused']);
    assert.doesNotMatch(r.stdout, UNSAFE);
    assert.match(oneLine(r.stderr), /rollout r\d+ paused \(budget-exceeded\) with 1 host\(s\) failed; see swarmctl rollout status r\d+ and resume it.*\[SWARM_ERR_CLI_ROLLOUT_NOT_DONE\]$/);
  });

  it('rollout watch on a terminal redraws in place and ends with the final view', async () => {
    const started = RolloutSchema.parse(JSON.parse((await run(['--json', 'rollout', 'start', '2.0.0', '--hosts', 'h1,h2', '--canary', '0'])).stdout));
    fake.setHost(started.id, 'h1', 'pushing');
    const watching = run(['rollout', 'watch', started.id], { tty: true });
    setImmediate(() => void fake.drive(started.id));
    const r = await watching;
    assert.equal(r.code, 0, r.stderr);
    // eslint-disable-next-line no-control-regex -- the redraw sequence is what is checked
    assert.match(r.stdout, /\u001b\[\d+A\r\u001b\[J/, 'cursor up and clear before a redraw');
    const last = r.stdout.split('\u001b[J').at(-1)!;
    assert.match(last, new RegExp(`^rollout ${started.id} {2}agent {2}a1a1a1a1a1a1 -> 2\\.0\\.0 \\(b2b2b2b2b2b2\\)$`, 'm'));
    assert.match(last, /^state {5}done {3}elapsed \d+s {3}failures 0 of 0 allowed$/m);
    assert.match(last, /^0 +2 +2 +0 +0 +0 +0 +\[#{20}\]$/m);
    // eslint-disable-next-line no-control-regex -- no colour sequence may appear
    assert.doesNotMatch(r.stdout, /\u001b\[3\dm/, 'no colour with NO_COLOR');
  });

  it('rollout watch follows the live stream and, when the connection drops, reconnects after the last event it saw', async () => {
    const started = RolloutSchema.parse(JSON.parse((await run(['--json', 'rollout', 'start', '2.0.0', '--hosts', 'h1,h2,h3', '--canary', '0'])).stdout));
    const listeners = fake.listenerCount;
    const watching = run(['rollout', 'watch', started.id]);
    await waitFor('the watch stream to open', async () => (fake.listenerCount > listeners ? true : undefined), 10_000, 20);
    fake.setHost(started.id, 'h1', 'pushing');
    fake.setHost(started.id, 'h1', 'succeeded');
    // Cut every connection of this operator: the stream drops mid-rollout.
    assert.ok(ctl.context.sockets.destroy([serial]) > 0);
    await waitFor('the server to drop the stream', async () => (fake.listenerCount === listeners ? true : undefined), 10_000, 20);
    fake.setHost(started.id, 'h2', 'pushing');
    fake.setHost(started.id, 'h2', 'succeeded');
    await waitFor('the watch to reconnect', async () => (fake.listenerCount > listeners ? true : undefined), 10_000, 20);
    fake.setHost(started.id, 'h3', 'pushing');
    fake.setHost(started.id, 'h3', 'succeeded');
    fake.setState(started.id, 'done');
    const r = await watching;
    assert.equal(r.code, 0, r.stderr);
    const types = r.stdout.trim().split('\n').filter((l) => /^\d\d:\d\d:\d\d/.test(l)).map((l) => l.split('  ').slice(1, 3).join(' '));
    assert.deepEqual(types, ['started rollout of 2.0.0 to 3 hosts started by spiffe://test/operator/alice', 'host-pushing h1 wave 0', 'host-succeeded h1 wave 0', 'host-pushing h2 wave 0', 'host-succeeded h2 wave 0', 'host-pushing h3 wave 0', 'host-succeeded h3 wave 0', 'done rollout done']);
    const stream = fake.calls.filter((c) => c.method === 'events' && c.args[0] === started.id).map((c) => Number(c.args[1]));
    assert.equal(stream[0], 1, 'the first stream resumed after the start event the document carried');
    assert.ok(stream.length >= 2 && stream.at(-1)! >= 3, `the reconnect asked for events after the last seen one: ${JSON.stringify(stream)}`);
    assert.match(r.stdout, /^rollout r\d+ done: 3 succeeded, 0 skipped, 0 failed, 0 rolled back, 0 unreachable$/m);
  });

  it('rollout status --json has the pinned shape; the human view lists hosts with their errors; watch of an aborted rollout exits 1', async () => {
    const started = RolloutSchema.parse(JSON.parse((await run(['--json', 'rollout', 'start', '2.0.0', '--all'])).stdout));
    fake.setHost(started.id, 'h1', 'pushing');
    fake.setHost(started.id, 'h1', 'failed', { code: 'SWARM_ERR_TAR_UNSAFE_PATH', message: 'entry ../x leaves the release' });
    const j = await run(['--json', 'rollout', 'status', started.id]);
    assert.equal(j.code, 0, j.stderr);
    const doc = JSON.parse(j.stdout) as Record<string, unknown> & { hosts: Array<Record<string, unknown>>; events: unknown[] };
    for (const k of ['id', 'release', 'state', 'reason', 'hosts', 'events']) assert.ok(k in doc, k);
    for (const k of ['name', 'wave', 'state', 'error']) assert.ok(k in doc.hosts[0]!, k);
    assert.deepEqual(doc.hosts[0]!.error, { code: 'SWARM_ERR_TAR_UNSAFE_PATH', message: 'entry ../x leaves the release' });
    assert.ok(doc.events.length >= 3);
    const human = await run(['rollout', 'status', started.id]);
    assert.match(human.stdout, /^h1 +0 +failed +a1a1a1a1a1a1 +SWARM_ERR_TAR_UNSAFE_PATH: entry \.\.\/x leaves the release$/m);
    assert.match(human.stdout, /^failures:\n {2}h1 {2}failed {2}wave 0/m);
    assert.match(human.stdout, /^events \(last \d+ of \d+\):$/m);
    const list = await run(['rollout', 'list']);
    assert.match(list.stdout, new RegExp(`^${started.id} +(canary|rolling) +- +agent +2\\.0\\.0 b2b2b2b2b2b2 +0/3 +1/0 +operator/alice`, 'm'));
    const abort = await run(['rollout', 'abort', started.id]);
    assert.equal(abort.code, 0, abort.stderr);
    assert.match(abort.stdout, new RegExp(`^rollout ${started.id} aborted \\(operator\\)`));
    const watch = await run(['rollout', 'watch', started.id]);
    assert.equal(watch.code, 1);
    assert.match(watch.stdout, /aborted \(operator\)/);
    assert.match(oneLine(watch.stderr), /\[SWARM_ERR_CLI_ROLLOUT_NOT_DONE\]$/);
    const again = await run(['rollout', 'pause', started.id]);
    assert.equal(again.code, 1);
    assert.match(oneLine(again.stderr), /\[SWARM_ERR_ROLLOUT_STATE\]$/);
    const none = await run(['rollout', 'watch', 'nosuch']);
    assert.equal(none.code, 1);
    assert.match(oneLine(none.stderr), /\[SWARM_ERR_ROLLOUT_NOT_FOUND\]$/);
  });

  it('rollout pause and resume --max-failures send what the operator asked', async () => {
    const started = RolloutSchema.parse(JSON.parse((await run(['--json', 'rollout', 'start', '2.0.0', '--all'])).stdout));
    const pause = await run(['rollout', 'pause', started.id]);
    assert.equal(pause.code, 0, pause.stderr);
    assert.match(pause.stdout, /paused \(operator\)/);
    const resume = await run(['--json', 'rollout', 'resume', started.id, '--max-failures', '2']);
    assert.equal(resume.code, 0, resume.stderr);
    assert.deepEqual(RolloutSchema.parse(JSON.parse(resume.stdout)).strategy.maxFailures, { count: 2 });
    assert.deepEqual(fake.calls.filter((c) => c.method === 'resume').at(-1)!.args, [started.id, 'spiffe://test/operator/alice', { count: 2 }]);
  });

  it('updater self-update starts a rollout of kind updater', async () => {
    const r = await run(['--json', 'updater', 'self-update', '2.0.0', '--hosts', 'h1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(RolloutSchema.parse(JSON.parse(r.stdout)).kind, 'updater');
    assert.equal((fake.calls.filter((c) => c.method === 'start').at(-1)!.args[0] as { kind: string }).kind, 'updater');
  });

  it('rollback reports host by host: exit 0 only when every host rolled back; --json has the pinned shape', async () => {
    fake.rollbackOutcome = {};
    const ok = await run(['rollback', 'h1', 'h2']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^h1 +rolled-back +prev-h1 +-$/m);
    assert.match(ok.stdout, /rolled back 2 of 2 host\(s\)/);
    fake.rollbackOutcome = { h3: { state: 'failed', release: R2, error: { code: 'SWARM_ERR_UPDATER_NO_PREV', message: 'no previous release' } } };
    const partial = await run(['--json', 'rollback', '--selector', 'site=field', '--parallel', '4']);
    assert.equal(partial.code, 1);
    const report = FleetRollbackReportSchema.parse(JSON.parse(partial.stdout));
    assert.deepEqual(report.hosts.map((h) => [h.name, h.state, h.release]), [['h3', 'failed', R2], ['h4', 'rolled-back', 'prev-h4']]);
    assert.match(oneLine(partial.stderr), /1 host\(s\) not rolled back \(h3 failed\).*\[SWARM_ERR_CLI_ROLLBACK_INCOMPLETE\]$/);
    assert.deepEqual(fake.calls.filter((c) => c.method === 'rollback').at(-1)!.args[0], { selector: 'site=field', parallel: 4 });
    const byRollout = await run(['rollback', '--rollout', 'nosuch', '--wait']);
    assert.equal(byRollout.code, 1);
    assert.match(oneLine(byRollout.stderr), /\[SWARM_ERR_ROLLOUT_NOT_FOUND\]$/);
  });
});
