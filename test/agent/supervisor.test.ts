// Supervision with real child processes: backoff, ok -> degraded -> failing -> ok, clean stops, bounded output.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HealthStatus } from '../../shared/wire.js';
import { restartDelay, type SupervisorPolicy } from '../../agent/health.js';
import type { ResolvedService } from '../../agent/release.js';
import { Supervisor } from '../../agent/supervisor.js';
import { tempDir } from '../helpers/pki.js';
import { isAlive, nodeService, until, waitForEvent } from './helpers.js';

function svc(name: string, command: string[], extra: Partial<ResolvedService> = {}): ResolvedService {
  return { name, command, env: {}, restart: 'always', required: true, executable: command[0]!, ...extra };
}

const fast: SupervisorPolicy = { crashLimit: 3, crashWindowMs: 10_000, stableMs: 300, backoffBaseMs: 40, backoffCapMs: 160, stopGraceMs: 300 };

describe('agent supervisor (real processes)', function () {
  let dir: { path: string; cleanup: () => Promise<void> };
  let sup: Supervisor | undefined;
  beforeEach(async () => {
    dir = await tempDir('swarm-agent-sup-');
  });
  afterEach(async () => {
    await sup?.stop();
    sup = undefined;
    await dir.cleanup();
  });

  function make(services: ResolvedService[], policy: SupervisorPolicy = fast, extra: Partial<ConstructorParameters<typeof Supervisor>[0]> = {}): Supervisor {
    sup = new Supervisor({ release: { dir: dir.path, release: 'unknown', version: 'unknown', services }, policy, random: () => 1, ...extra });
    return sup;
  }

  function recordHealth(s: Supervisor): HealthStatus[] {
    const seen: HealthStatus[] = [s.status()];
    s.on('health', (status) => seen.push(status));
    return seen;
  }

  it('restarts a crashing service with growing backoff; health goes ok -> degraded -> failing', async () => {
    // stableMs long: a loaded CI machine must not see a restarted run turn stable before it crashes
    const s = make([svc('crasher', nodeService('setTimeout(() => process.exit(3), 50)'), { restart: 'on-failure' })], { ...fast, stableMs: 20_000 });
    const seen = recordHealth(s);
    const exits: number[] = [];
    const spawns: number[] = [];
    s.on('exit', () => exits.push(Date.now()));
    s.on('service', (e) => e.state === 'running' && spawns.push(Date.now()));
    const failing = waitForEvent(s, 'health', (status: HealthStatus) => status === 'failing');
    await s.start();
    assert.equal(s.status(), 'ok', 'running right after start');
    await failing;
    assert.deepEqual(seen, ['degraded', 'ok', 'degraded', 'failing'], 'starting, running, restarting, crash-looping');
    const h = s.health();
    assert.equal(h.status, 'failing');
    assert.ok(h.services[0]!.restarts >= 2, 'restarted at least twice');
    // each restart waited at least its backoff (random=1: the full ceiling 40, 80, ...)
    for (let i = 0; i + 1 < spawns.length && i < exits.length; i += 1) {
      assert.ok(spawns[i + 1]! - exits[i]! >= restartDelay(i + 1, fast, () => 1) - 5, `restart ${i + 1} waited its backoff`);
    }
    const detail = s.serviceStatus()[0]!;
    assert.equal(detail.lastExit?.code, 3);
  });

  it('stays failing when a service never stays up although its backoff spaces crashes wider than the window', async () => {
    // 300 ms between crashes, a 150 ms window: never 3 crashes in one window, yet it never ran stably once
    const s = make([svc('never-up', nodeService('process.exit(1)'))], { ...fast, crashWindowMs: 150, backoffBaseMs: 300, backoffCapMs: 300, stableMs: 20_000 });
    const failing = waitForEvent(s, 'health', (status: HealthStatus) => status === 'failing');
    await s.start();
    await failing;
    const restarts = s.health().services[0]!.restarts;
    await waitForEvent(s, 'exit', () => true);
    assert.equal(s.status(), 'failing', 'a later crash keeps it failing');
    assert.ok(s.health().services[0]!.restarts > restarts);
  });

  it('caps the backoff and keeps the delays exponential until the cap', () => {
    const p = { backoffBaseMs: 100, backoffCapMs: 1000 };
    assert.deepEqual([1, 2, 3, 4, 5, 10, 60].map((n) => restartDelay(n, p, () => 1)), [100, 200, 400, 800, 1000, 1000, 1000]);
    assert.deepEqual([1, 4].map((n) => restartDelay(n, p, () => 0)), [50, 400], 'at least half the ceiling: never a tight loop');
  });

  it('a required service that recovers brings health back to ok', async () => {
    const counter = join(dir.path, 'runs');
    // crashes on its first 3 runs, then stays up
    const code = `const fs=require('fs');const f=${JSON.stringify(counter)};let n=0;try{n=Number(fs.readFileSync(f,'utf8'))}catch{}fs.writeFileSync(f,String(n+1));if(n<3)process.exit(1);setInterval(()=>{},1000)`;
    const s = make([svc('flaky', nodeService(code))]);
    const seen = recordHealth(s);
    const backToOk = (async () => {
      await waitForEvent(s, 'health', (status: HealthStatus) => status === 'failing');
      await waitForEvent(s, 'health', (status: HealthStatus) => status === 'ok');
    })();
    await s.start();
    await backToOk;
    assert.deepEqual(seen.slice(-2), ['failing', 'ok']);
    // the 4th run writes its count once node has booted, which under load can be after it turned stable
    await until('the 4th run counted itself', async () => Number(await readFile(counter, 'utf8')) === 4);
    const h = s.health();
    assert.equal(h.services[0]!.state, 'running');
    assert.equal(h.services[0]!.restarts, 3);
    assert.ok(h.services[0]!.pid !== null && isAlive(h.services[0]!.pid));
  });

  it('optional services never change health; a service that cannot start is reported with its reason', async () => {
    const s = make([
      svc('main', nodeService('setInterval(() => {}, 1000)')),
      svc('extra', ['/nonexistent/sensor-tool'], { required: false }),
    ]);
    await s.start();
    await waitForEvent(s, 'exit', (name: string) => name === 'extra');
    assert.equal(s.status(), 'ok');
    const extra = s.serviceStatus().find((d) => d.name === 'extra')!;
    assert.match(extra.lastExit?.error ?? '', /ENOENT/);
    assert.ok(extra.output.some((l) => l.line.includes('cannot start /nonexistent/sensor-tool')));
  });

  it('stops a service that ignores SIGTERM with SIGKILL after the grace period, children included', async () => {
    const pidFile = join(dir.path, 'child.pid');
    const s = make([svc('stubborn', ['/bin/sh', '-c', `trap "" TERM; sleep 1000 & echo $! > ${pidFile}; wait; wait`])]);
    await s.start();
    const pid = s.health().services[0]!.pid!;
    const grandchild = await (async () => {
      for (let i = 0; i < 200; i += 1) {
        const text = await readFile(pidFile, 'utf8').catch(() => '');
        if (text.trim()) return Number(text);
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('the service never wrote its child pid');
    })();
    const t0 = Date.now();
    await s.stop();
    const took = Date.now() - t0;
    assert.ok(took >= fast.stopGraceMs - 20, `waited the grace period (${took} ms)`);
    assert.ok(took < fast.stopGraceMs + 2000, `then killed (${took} ms)`);
    assert.equal(isAlive(pid), false, 'service gone');
    await until('its child gone too (SIGKILL is delivered asynchronously)', () => !isAlive(grandchild), 2_000);
    assert.equal(s.health().services[0]!.state, 'stopped');
  });

  it('keeps only a bounded number of bounded output lines', async () => {
    const code = "const big='x'.repeat(10000);process.stderr.write('y'.repeat(300000)+'\\n');for(let i=0;i<2000;i++)process.stdout.write(big+'\\n');process.stdout.write('done\\n')";
    const s = make([svc('chatty', nodeService(code), { restart: 'never' })], fast, { outputLimits: { maxLines: 50, maxLineBytes: 100 } });
    const exited = waitForEvent(s, 'exit', () => true);
    await s.start();
    await exited;
    await until('the last line read', () => s.serviceStatus()[0]!.output.some((l) => l.line === 'done'));
    const out = s.serviceStatus()[0]!.output;
    assert.ok(out.length <= 50, `${out.length} lines kept`);
    assert.ok(out.every((l) => Buffer.byteLength(l.line) <= 100));
    assert.ok(out.some((l) => l.stream === 'stdout' && l.truncated), 'the 10 kB lines were cut');
    assert.equal(out.at(-1)!.line, 'done');
    assert.equal(s.status(), 'ok', 'exited 0 under restart=never: finished, not failing');
  });
});
