// `npm run bench -- dashboard [--hosts N]`: swarmctl dashboard in headless Chromium against a real controller whose
// store holds N simulated hosts (5,000 by default: rows, reports and certificates written before `serve`) and a
// rollout over all of them with its events. Reports the time to first render of the hosts table and of the rollout
// page, the browser's JS heap (CDP Performance.getMetrics), and the time per filter, sort and scroll action
// (input to updated DOM, layout included). Targets: first render < 1 s, an action < 100 ms.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initStateDir, openSqliteStore, statePaths, type NewRolloutEvent, type RolloutHostRecord } from '../controller/index.js';
import { spawnServe } from '../test/controller/helpers.js';
import { launchChromium, startDashboard } from '../test/helpers/browser.js';
import { quantile } from './rollout.js';

const FROM = 'a'.repeat(64);
const TO = 'b'.repeat(64);
const SITES = ['lab', 'north', 'south', 'east', 'west'];

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
}

/** N hosts, their last reports (most online, on one of two releases) and one paused rollout over all of them. */
async function seedStore(db: string, count: number): Promise<string> {
  const store = openSqliteStore(db);
  const now = Date.now();
  const names = Array.from({ length: count }, (_, i) => `sensor-${String(i).padStart(5, '0')}`);
  for (const [i, name] of names.entries()) {
    await store.insertHost({ name, address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8766`, labels: { site: SITES[i % SITES.length]!, tier: i % 50 === 0 ? 'canary' : 'edge' }, createdAt: now });
    await store.insertJoinToken({ hash: `bench-${name}`, hostName: name, createdAt: now, expiresAt: now + 60_000, usedAt: null });
    await store.consumeJoinToken(`bench-${name}`, name, now);
  }
  const half = Math.floor(count * 0.6);
  await store.saveReports(names.map((name, i) => {
    const [release, version] = i < half ? [TO, '2.0.0'] : [FROM, '1.0.0'];
    const startedAt = new Date(now - 3_600_000).toISOString();
    const agent = { status: i % 97 === 0 ? 'degraded' : 'ok', release, version, pid: 1000 + i, startedAt, services: [] };
    // A few hosts have not been heard of for a day: offline.
    const at = i % 211 === 0 ? now - 86_400_000 : now;
    return { hostName: name, lastContact: at, agent: { report: agent, at, certNotAfter: now + 7 * 86_400_000 }, updater: null };
  }));
  const id = 'rollout-bench-5000';
  const strategy = { canary: 50, batch: { percent: 10 }, maxParallel: 100, maxFailures: { percent: 5 }, pauseBetweenMs: 0, hostDeadlineMs: 300_000 };
  const waveOf = (i: number): number => (i < 50 ? 0 : 1 + Math.floor((i - 50) / Math.ceil((count - 50) / 10)));
  const hosts: RolloutHostRecord[] = names.map((name, i) => {
    const done = i < half;
    const failed = !done && i < half + 40;
    return {
      rolloutId: id, name, wave: waveOf(i), state: done ? 'succeeded' : failed ? 'rolled-back' : 'pending',
      error: failed ? { code: 'SWARM_ERR_UPDATER_AGENT_UNHEALTHY', message: 'agent not healthy within the probe deadline', detail: 'GET /v1/health: status failing (service capture: exited 3)' } : null,
      from: FROM, pushStartedAt: done || failed ? now - 60_000 : null, startedAt: done || failed ? now - 60_000 : null, endedAt: done || failed ? now - 30_000 : null,
    };
  });
  const events: NewRolloutEvent[] = [{ at: now - 120_000, type: 'started', host: null, wave: null, actor: 'spiffe://bench/operator/admin', reason: null, message: `started 2.0.0 on ${count} hosts` }];
  for (const h of hosts) {
    if (h.state === 'pending') continue;
    events.push({ at: now - 60_000, type: 'host-pushing', host: h.name, wave: h.wave, actor: null, reason: null, message: `pushing 2.0.0 to ${h.name}` });
    events.push({ at: now - 30_000, type: h.state === 'succeeded' ? 'host-succeeded' : 'host-rolled-back', host: h.name, wave: h.wave, actor: null, reason: null, message: h.state === 'succeeded' ? `${h.name} runs 2.0.0` : `${h.name} rolled itself back` });
  }
  events.push({ at: now - 20_000, type: 'paused', host: null, wave: null, actor: 'system', reason: 'budget-exceeded', message: 'paused: failures over budget' });
  const waveCount = waveOf(count - 1) + 1;
  await store.createRollout({
    id, releaseId: TO, version: '2.0.0', kind: 'agent', reason: 'budget-exceeded', createdBy: 'spiffe://bench/operator/admin', createdAt: now - 120_000, updatedAt: now - 20_000, endedAt: null,
    state: 'paused', strategy, budget: 20, currentWave: waveOf(half), waveCount, waveEndedAt: null, canaryAccepted: false,
  }, hosts, events);
  await store.close();
  return id;
}

/** Run in the page: apply each action, then time until the DOM shows it (a render and a layout). */
const ACTIONS_IN_PAGE = `(async () => {
  const settle = () => new Promise((r) => setTimeout(r, 0));
  const time = async (act, check, what) => {
    const t0 = performance.now();
    act();
    for (let i = 0; i < 100 && !check(); i++) await settle();
    document.body.offsetHeight;
    const ms = performance.now() - t0;
    if (!check()) throw new Error('the page did not show ' + what + ' (host count: ' + count() + ')');
    await new Promise((r) => requestAnimationFrame(() => r()));
    return ms;
  };
  const count = () => document.querySelector('[data-testid="host-count"]').textContent;
  const input = document.querySelector('[data-testid="host-filter"]');
  const type = (v) => { input.value = v; input.dispatchEvent(new Event('input', { bubbles: true })); };
  const select = (sel, v) => { const e = document.querySelector(sel); e.value = v; e.dispatchEvent(new Event('change', { bubbles: true })); };
  const filter = [], sort = [], scroll = [];
  const texts = ['sensor-012', 'site=lab', 'tier=canary', 'sensor-0499', 'tier!=edge', 'x-no-match', ''];
  for (let round = 0; round < 3; round++) {
    for (const t of texts) { const before = count(); filter.push(await time(() => type(t), () => count() !== before || t === '', 'filter ' + t)); }
    for (const [sel, v] of [['[data-testid="state-filter"]', 'offline'], ['[data-testid="state-filter"]', 'all'], ['[data-testid="release-filter"]', '${TO}'], ['[data-testid="release-filter"]', 'all']]) {
      const before = count(); filter.push(await time(() => select(sel, v), () => count() !== before, sel + ' ' + v));
    }
  }
  for (const key of ['release', 'health', 'name', 'name', 'contact', 'state', 'name']) {
    const first = () => document.querySelector('[data-testid="hosts-body"] [role="row"]')?.getAttribute('data-host') + document.querySelector('[aria-sort]')?.textContent;
    const before = first();
    sort.push(await time(() => document.querySelector('[data-testid="sort-' + key + '"]').click(), () => first() !== before, 'sort ' + key));
  }
  const body = document.querySelector('[data-testid="hosts-body"]');
  const rows = Number(document.querySelector('[role="table"]').getAttribute('aria-rowcount')) - 1;
  for (let i = 0; i < 30; i++) {
    const target = Math.floor(((i * 7919) % 97) / 97 * (rows - 20));
    scroll.push(await time(() => { body.scrollTop = target * 34; body.dispatchEvent(new Event('scroll')); }, () => !!document.getElementById('host-row-' + target), 'scroll to ' + target));
  }
  return { filter, sort, scroll, domRows: document.querySelectorAll('[data-testid="hosts-body"] [role="row"]').length };
})()`;

function summary(xs: number[]): { n: number; p50: number; p95: number; max: number } {
  const r = (v: number): number => Math.round(v * 10) / 10;
  return { n: xs.length, p50: r(quantile(xs, 0.5)), p95: r(quantile(xs, 0.95)), max: r(Math.max(...xs)) };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const count = arg(args, 'hosts', 5000);
  const root = await mkdtemp(join(tmpdir(), 'swarm-bench-dashboard-'));
  const stateDir = join(root, 'state');
  let serve: Awaited<ReturnType<typeof spawnServe>> | undefined;
  let dash: Awaited<ReturnType<typeof startDashboard>> | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    await initStateDir({ stateDir, cluster: 'bench', sans: ['127.0.0.1'] });
    const t0 = Date.now();
    const rolloutId = await seedStore(statePaths(stateDir).db, count);
    const seedMs = Date.now() - t0;
    serve = await spawnServe(stateDir, ['--log-level', 'warn']);
    dash = await startDashboard(serve.url, join(stateDir, 'operators', 'admin'));
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const heapMb = async (): Promise<number> => {
      const { metrics } = await cdp.send('Performance.getMetrics');
      return Math.round(((metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? NaN) / 1048576) * 10) / 10;
    };
    const origin = new URL(dash.url).origin;
    const total = `${count.toLocaleString('en')} hosts`;
    // Warm: the dashboard's first read of the controller and the browser's first start are not the page's cost.
    await page.goto(dash.url, { timeout: 60_000 });
    await page.waitForSelector(`[data-testid="host-count"]:has-text("${total}")`, { timeout: 60_000 });

    const hostsRender: number[] = [];
    for (let i = 0; i < 5; i++) {
      // From a blank page: a new document each time, not a same-document hash change.
      await page.goto('about:blank');
      const t = performance.now();
      await page.goto(`${origin}/`, { timeout: 60_000 });
      await page.waitForSelector(`[data-testid="host-count"]:has-text("${total}")`, { timeout: 60_000 });
      await page.waitForSelector('[data-testid="hosts-body"] [role="row"]', { timeout: 60_000 });
      hostsRender.push(performance.now() - t);
    }
    const heapHostsMb = await heapMb();
    const actions = await page.evaluate<{ filter: number[]; sort: number[]; scroll: number[]; domRows: number }>(ACTIONS_IN_PAGE);

    const rolloutRender: number[] = [];
    for (let i = 0; i < 5; i++) {
      await page.goto('about:blank');
      const t = performance.now();
      await page.goto(`${origin}/#/rollouts/${rolloutId}`, { timeout: 60_000 });
      await page.waitForSelector('[data-testid="rollout-page"] [data-testid="failure"]', { timeout: 60_000 }).catch(async (err: Error) => {
        throw new Error(`${err.message}; the page shows: ${(await page.textContent('main'))?.slice(0, 500)}`);
      });
      rolloutRender.push(performance.now() - t);
    }
    const heapRolloutMb = await heapMb();
    // In the page: from the rollouts list, a click on the rollout (what an operator does) to its failures shown.
    const rolloutNavigate: number[] = [];
    for (let i = 0; i < 5; i++) {
      await page.goto('about:blank');
      await page.goto(`${origin}/#/rollouts`, { timeout: 60_000 });
      await page.waitForSelector(`[data-rollout="${rolloutId}"] a`, { timeout: 60_000 });
      const t = performance.now();
      await page.click(`[data-rollout="${rolloutId}"] a`);
      await page.waitForSelector('[data-testid="rollout-page"] [data-testid="failure"]', { timeout: 60_000 });
      rolloutNavigate.push(performance.now() - t);
    }
    // The reads alone (controller, dashboard, transfer), without the page: what a first render cannot be faster than.
    const timeRead = async (path: string): Promise<{ ms: number; bytes: number }> => {
      const t = performance.now();
      const body = await (await page.request.get(`${origin}${path}`)).body();
      return { ms: Math.round(performance.now() - t), bytes: body.length };
    };
    const hostsRead = await timeRead('/api/hosts');
    const rolloutRead = await timeRead(`/api/rollouts/${rolloutId}`);
    const firstRender = { hostsTableMs: summary(hostsRender), rolloutPageMs: summary(rolloutRender), rolloutFromListMs: summary(rolloutNavigate) };
    const perAction = { filterMs: summary(actions.filter), sortMs: summary(actions.sort), scrollMs: summary(actions.scroll) };
    return {
      hosts: count,
      seedMs,
      firstRender,
      perAction,
      domRowsInTable: actions.domRows,
      heapUsedMb: { hostsTable: heapHostsMb, rolloutPage: heapRolloutMb },
      reads: { hosts: hostsRead, rollout: rolloutRead },
      targets: {
        firstRenderUnder1s: firstRender.hostsTableMs.p50 < 1000 && firstRender.rolloutPageMs.p50 < 1000,
        actionUnder100ms: perAction.filterMs.p95 < 100 && perAction.sortMs.p95 < 100 && perAction.scrollMs.p95 < 100,
      },
      note: 'first render: a fresh load (cookie-authenticated, no token redirect) of the table showing every host, or of the rollout page showing its failures, after one warm-up load; rolloutFromListMs: a click in the rollouts list to the rollout page shown; p50 over 5. Actions: input event to updated DOM plus a forced layout, in the page.',
    };
  } finally {
    await browser?.close().catch(() => undefined);
    await dash?.stop().catch(() => undefined);
    await serve?.stop().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}
