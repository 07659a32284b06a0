// Several controller URLs at every edge: the list rule, the agent's flags and SWARM_CONTROLLER, the updater's flags and
// config file (a string or an array), and the bins' refusals naming the flag and the bad value.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveAgentSettings } from '../../agent/settings.js';
import { checkHttpsUrlList, HttpsUrlListSchema, MAX_CONTROLLER_URLS } from '../../shared/https-url.js';
import { loadUpdaterConfig } from '../../updater/config.js';
import { AGENT_MAIN } from '../agent/helpers.js';
import { runBin } from '../controller/helpers.js';
import { tempDir } from '../helpers/pki.js';
import { UPDATER_MAIN } from '../updater/helpers/host.js';

const A = 'https://ctl-a.example:8770';
const B = 'https://ctl-b.example:8770';

describe('controller URL lists', () => {
  it('takes one URL, a comma-separated list or an array; normalises, keeps the order, drops duplicates', () => {
    assert.deepEqual(checkHttpsUrlList(`${A}/`), { ok: true, urls: [A] });
    assert.deepEqual(checkHttpsUrlList(`${A}, ${B}/`), { ok: true, urls: [A, B] });
    assert.deepEqual(checkHttpsUrlList([B, `${A},${B}`]), { ok: true, urls: [B, A] });
    assert.deepEqual(HttpsUrlListSchema.parse([A, B]), [A, B]);
  });

  it('refuses a list with one bad URL, naming it; an empty list; a list past the limit', () => {
    assert.deepEqual(checkHttpsUrlList(`${A},http://b:8770`), { ok: false, value: 'http://b:8770', reason: 'is http://, not https://', among: true });
    // One URL alone: the message is the one-URL rule's, unchanged (the caller shows the value).
    assert.match(HttpsUrlListSchema.safeParse('http://b:8770').error!.issues[0]!.message, /^must be an https:\/\/ URL/);
    const r = HttpsUrlListSchema.safeParse([A, 'https://u:p@c']);
    assert.equal(r.success, false);
    assert.match(r.error!.issues[0]!.message, /^"https:\/\/u:p@c" must be an https:\/\/ URL/);
    assert.equal(checkHttpsUrlList(`${A},`).ok, false);
    assert.equal(HttpsUrlListSchema.safeParse([]).success, false);
    const many = Array.from({ length: MAX_CONTROLLER_URLS + 1 }, (_, i) => `https://c${i}.example`);
    assert.match(String((checkHttpsUrlList(many) as { reason: string }).reason), /more than 8/);
    assert.equal(checkHttpsUrlList(many.slice(1)).ok, true);
  });

  it('swarm-agent: --controller repeated or SWARM_CONTROLLER with commas; a bad one names its source and value', () => {
    assert.deepEqual(resolveAgentSettings({ controller: [A, B] }, {}).controllers, [A, B]);
    assert.deepEqual(resolveAgentSettings({}, { SWARM_CONTROLLER: `${A},${B}` }).controllers, [A, B]);
    assert.deepEqual(resolveAgentSettings({}, { SWARM_CONTROLLER: A }).controllers, [A]);
    assert.equal(resolveAgentSettings({}, { SWARM_CONTROLLER: '' }).controllers, undefined);
    assert.equal(resolveAgentSettings({}, { SWARM_CONTROLLER: `${A},${B}` }).controller, A, 'controller stays the first URL');
    assert.throws(() => resolveAgentSettings({ controller: [A, 'http://b'] }, {}), /^UsageError: --controller "https:\/\/ctl-a\.example:8770,http:\/\/b": "http:\/\/b" must be an https:\/\/ URL/);
    assert.throws(() => resolveAgentSettings({}, { SWARM_CONTROLLER: `${A},ftp://b` }), /^UsageError: SWARM_CONTROLLER ".*": "ftp:\/\/b" must be/);
  });

  it('swarm-updater config: controller as a string (as before) or an array; flags replace the file\'s list', async () => {
    const dir = await tempDir('swarm-urls-');
    try {
      const one = join(dir.path, 'one.json');
      await writeFile(one, JSON.stringify({ controller: `${A}/` }));
      assert.deepEqual((await loadUpdaterConfig(one, {})).controller, [A]);
      const two = join(dir.path, 'two.json');
      await writeFile(two, JSON.stringify({ controller: [A, B] }));
      assert.deepEqual((await loadUpdaterConfig(two, {})).controller, [A, B]);
      assert.deepEqual((await loadUpdaterConfig(two, { controller: [B] })).controller, [B]);
      const bad = join(dir.path, 'bad.json');
      await writeFile(bad, JSON.stringify({ controller: [A, 'http://b'] }));
      await assert.rejects(loadUpdaterConfig(bad, {}), /controller.*"http:\/\/b" must be an https:\/\/ URL/);
    } finally {
      await dir.cleanup();
    }
  });

  it('the bins refuse a bad URL among several with exit 2, naming the flag and the value', async function () {
    this.timeout(20_000);
    const [run, join_, agent] = await Promise.all([
      runBin(UPDATER_MAIN, ['run', '--controller', A, '--controller', 'http://b:8770']),
      runBin(UPDATER_MAIN, ['join', '--controller', A, '--controller', 'http://b:8770', '--token-file', '-', '--ca-hash', `sha256:${'0'.repeat(64)}`]),
      runBin(AGENT_MAIN, ['run', '--controller', A, '--controller', 'ws://b:8770']),
    ]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--controller: "http:\/\/b:8770" must be an https:\/\/ URL/);
    assert.equal(join_.code, 2, join_.stderr);
    assert.match(join_.stderr, /--controller: "http:\/\/b:8770" must be an https:\/\/ URL.*join token must not travel in clear/);
    assert.equal(agent.code, 2, agent.stderr);
    assert.match(agent.stderr, /--controller ".*": "ws:\/\/b:8770" must be an https:\/\/ URL/);
  });
});
