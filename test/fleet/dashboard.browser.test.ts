// swarmctl dashboard in a real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core), against a
// controller and three real hosts: the hosts appear online; a rollout started with swarmctl appears and advances
// without a reload; a failing canary shows the paused state and the host's reason; a fleet rollback shows every host
// back; the controller going away shows a banner. Every request the page makes stays on its own origin and no
// Content-Security-Policy violation is reported. Screenshots of each state go to test-results/dashboard/.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { FleetRollbackReport, RolloutJson } from '../../shared/rollout-api.js';
import { CHROMIUM, launchChromium, startDashboard, type DashboardProcess } from '../helpers/browser.js';
import { repoRoot } from '../helpers/repo.js';
import { pollUntil } from '../helpers/wait.js';
import { FAIL_MARKER, startFleet, type Fleet, type FleetRelease } from './helpers.js';

const SHOTS = join(repoRoot(), 'test-results', 'dashboard');
const WAIT = { timeout: 60_000 };

describe('swarmctl dashboard in headless Chromium, with a controller and three real hosts', function () {
  this.timeout(300_000);
  let fleet: Fleet;
  let v1: FleetRelease;
  let dash: DashboardProcess;
  let browser: Browser;
  let page: Page;
  let origin: string;
  const requests: string[] = [];
  const problems: string[] = [];
  let documents = 0;
  let good: RolloutJson;

  const shot = async (name: string): Promise<void> => {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };
  // Code that runs in the page is written as strings: the tests compile without the DOM's types.
  /** The page's hash route changes in place: no navigation, no reload. */
  const go = (hash: string): Promise<unknown> => page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
  // Polled through the debugging protocol: waitForFunction would eval() in the page, which its CSP forbids.
  const until = (expression: string, timeoutMs = WAIT.timeout): Promise<true> =>
    pollUntil(expression, async () => ((await page.evaluate<unknown>(expression)) ? true : undefined), { timeoutMs, everyMs: 100 });

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium (.ci/run does it)`);
    await rm(SHOTS, { recursive: true, force: true });
    await mkdir(SHOTS, { recursive: true });
    fleet = await startFleet({ hosts: 3 });
    v1 = await fleet.release('1.0.0');
    await fleet.installEverywhere(v1);
    dash = await startDashboard(fleet.url, join(fleet.stateDir, 'operators', 'admin'));
    origin = new URL(dash.url).origin;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('request', (r) => {
      requests.push(r.url());
      if (r.resourceType() === 'document') documents++;
    });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
  });
  after(async () => {
    await browser?.close();
    await dash?.stop();
    await fleet?.close();
  });

  it('lists the three hosts online, on the release they run, and filters them from the keyboard', async () => {
    await page.goto(dash.url, WAIT);
    assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
    for (const h of ['h1', 'h2', 'h3']) await page.waitForSelector(`[data-host="${h}"][data-state="online"]`, WAIT);
    await until(`document.querySelector('[data-testid="hosts-online"]')?.textContent === '3'`);
    assert.equal(await page.textContent('[data-testid="hosts-offline"]'), '0');
    for (const h of ['h1', 'h2', 'h3']) assert.match(await page.textContent(`[data-host="${h}"] .c-release`) ?? '', /1\.0\.0/);
    assert.match(await page.getAttribute('[data-testid="release-bar"] [role="img"]', 'aria-label') ?? '', /1\.0\.0 .*: 3/);
    // Keyboard: / goes to the filter, which narrows the table; 2 and 1 switch views.
    await page.keyboard.press('/');
    assert.equal(await page.evaluate<string | undefined>('document.activeElement?.id'), 'host-filter');
    await page.keyboard.type('h2');
    await page.waitForSelector('[data-testid="host-count"]:has-text("1 of 3 hosts")', WAIT);
    assert.deepEqual(await page.$$eval('[data-testid="hosts-body"] [data-host]', (els) => els.map((e) => e.getAttribute('data-host'))), ['h2']);
    await page.fill('[data-testid="host-filter"]', '');
    await page.selectOption('[data-testid="state-filter"]', 'offline');
    await page.waitForSelector('text=No host matches these filters', WAIT);
    await page.selectOption('[data-testid="state-filter"]', 'all');
    await page.focus('[data-testid="hosts-body"]');
    await page.keyboard.press('2');
    await page.waitForSelector('h1:has-text("Rollouts")', WAIT);
    await page.keyboard.press('1');
    await page.waitForSelector('[data-testid="host-count"]:has-text("3 hosts")', WAIT);
    await shot('1-fleet-online');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('1-fleet-online-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('shows a rollout started with swarmctl, advancing live without a reload', async () => {
    const v2 = await fleet.release('2.0.0');
    await go('#/rollouts');
    await page.waitForSelector('[data-testid="rollout-list"]', WAIT);
    const loads = documents;
    const started = await fleet.startRollout(v2.id, ['--all', '--canary', '1', '--batch', '2']);
    await page.waitForSelector(`[data-rollout="${started.id}"]`, WAIT);
    await page.click(`[data-rollout="${started.id}"] a`);
    await page.waitForSelector(`[data-testid="rollout-page"]`, WAIT);
    // Record every state the page shows, from now on, without touching it.
    await page.evaluate(`(() => {
      const seen = (window.seen = []);
      const note = () => {
        const s = document.querySelector('[data-testid="rollout-page"]')?.getAttribute('data-state');
        const w = [...document.querySelectorAll('[data-testid^="wave-"]')].map((e) => e.textContent).join('|');
        const key = s + ' ' + w;
        if (s && seen[seen.length - 1] !== key) seen.push(key);
      };
      note();
      new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    })()`);
    if (await page.$('[data-testid="rollout-page"]:not([data-state="done"])')) await shot('2-rollout-running');
    await page.waitForSelector('[data-testid="rollout-page"][data-state="done"]', { timeout: 90_000 });
    good = await fleet.rollout(started.id);
    assert.equal(good.state, 'done');
    const seen = await page.evaluate<string[]>('window.seen');
    // Live: the page showed the rollout under way, then done, with nobody touching it.
    assert.ok(seen.some((x) => !x.startsWith('done ')), `the page showed the rollout before it was done: ${seen.join(' / ')}`);
    assert.match(seen[seen.length - 1]!, /^done /);
    assert.ok(seen.length >= 2, `the page moved by itself: ${seen.join(' / ')}`);
    for (const w of good.waves) assert.match(await page.textContent(`[data-testid="wave-${w.index}-counts"]`) ?? '', new RegExp(`^${w.hosts}/${w.hosts} done`));
    assert.match(await page.textContent('[data-testid="rollout-from-to"]') ?? '', /→ 2\.0\.0/);
    assert.equal(documents, loads, 'no reload: the page document was requested once');
    await shot('3-rollout-done');
  });

  it('shows a failing canary: the rollout paused (canary-failed) and the host\'s reason from its updater', async () => {
    const bad = await fleet.release('3.0.0', { failOnMarker: true });
    await writeFile(join(fleet.host('h1').installDir, FAIL_MARKER), '');
    try {
      const started = await fleet.startRollout(bad.id, ['--all', '--canary', '1']);
      await go(`#/rollouts/${started.id}`);
      await page.waitForSelector('[data-testid="rollout-page"][data-state="paused"]', { timeout: 90_000 });
      const r = await fleet.rollout(started.id);
      const canary = r.hosts.find((h) => h.name === 'h1')!;
      assert.equal(r.reason, 'canary-failed');
      assert.ok(canary.error, 'the rollout carries the updater\'s reason');
      await page.waitForSelector('[data-testid="failure"][data-host="h1"]', WAIT);
      assert.ok(await page.isVisible('[data-wave="0"] [data-host="h1"][data-state="rolled-back"]'), 'the canary wave lists its host, rolled back');
      assert.ok(await page.isHidden('[data-wave="1"] [data-host="h2"]'), 'the untouched wave is closed');
      assert.equal(await page.textContent('[data-testid="rollout-reason"]'), 'canary-failed');
      const failure = await page.textContent('[data-testid="failure"][data-host="h1"]') ?? '';
      assert.ok(failure.includes(canary.error.code), `the updater's code is shown: ${failure}`);
      assert.ok(failure.includes(canary.error.message.slice(0, 40)), `the updater's message is shown: ${failure}`);
      if (canary.error.detail) assert.ok(failure.includes(canary.error.detail.slice(0, 40)), 'the probe detail is shown');
      const commands = await page.$$eval('[data-testid="command"]', (els) => els.map((e) => e.textContent));
      assert.ok(commands.includes(`swarmctl rollout resume ${started.id}`) && commands.includes(`swarmctl rollout abort ${started.id}`), commands.join(', '));
      assert.equal(await page.$('main button[type="submit"], main form'), null, 'no action buttons: the page only reads');
      await shot('4-canary-failed');
    } finally {
      await rm(join(fleet.host('h1').installDir, FAIL_MARKER), { force: true });
    }
  });

  it('shows every host back after a fleet rollback', async () => {
    const report = await fleet.swarmctlJson<FleetRollbackReport>(['rollback', '--rollout', good.id]);
    assert.deepEqual(report.hosts.map((h) => [h.name, h.state]), [['h1', 'rolled-back'], ['h2', 'rolled-back'], ['h3', 'rolled-back']]);
    await go('#/');
    await until(`['h1', 'h2', 'h3'].every((h) => document.querySelector('[data-host="' + h + '"] .c-release')?.textContent?.startsWith('1.0.0'))`);
    await until(`/^1\\.0\\.0 [^,]*: 3$/.test(document.querySelector('[data-testid="release-bar"] [role="img"]')?.getAttribute('aria-label') ?? '')`);
    await shot('5-rolled-back');
  });

  it('shows a banner while the controller is unreachable, and clears it when it is back', async () => {
    await fleet.killController();
    await page.waitForSelector('[data-testid="banner-controller"]', WAIT);
    assert.match(await page.textContent('[data-testid="banner-controller"]') ?? '', /unreachable/);
    await shot('6-controller-unreachable');
    await fleet.restartController();
    await page.waitForSelector('[data-testid="banner-controller"]', { state: 'detached', timeout: 60_000 });
  });

  it('made every request to its own origin, and broke no Content-Security-Policy rule', () => {
    assert.ok(requests.length > 5, `requests seen: ${requests.length}`);
    assert.deepEqual(requests.filter((u) => new URL(u).origin !== origin), []);
    assert.deepEqual(problems.filter((p) => /Content Security Policy|Refused to/i.test(p)), []);
  });
});
