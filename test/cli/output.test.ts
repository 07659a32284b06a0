// Every human output of swarmctl is inert on a terminal, whatever reached the store (hardening item 6).
import assert from 'node:assert/strict';
import { printJson, printLine, printTable } from '../../cli/output.js';
import { silentLogger } from '../../shared/logger.js';
import { tempDir, mintIdentity, writeIdentity } from '../helpers/pki.js';
import { enrollDirectly, runBin, startInProcessController, SWARMCTL_BIN } from '../controller/helpers.js';

const capture = (): { out: { write(s: string): void }; text: () => string } => {
  let text = '';
  return { out: { write: (s: string) => void (text += s) }, text: () => text };
};

/** Nothing a terminal would act on: no C0 but newline, no DEL or C1, no bidi or zero-width character. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/u;

describe('swarmctl output functions', () => {
  it('printTable escapes control, OSC 52 and bidi characters in cells, visibly', () => {
    const c = capture();
    printTable(c.out, ['NAME', 'VERSION'], [['evil', '1.0\u001b]52;c;cm0gLXJmIH4K\u0007'], ['h2', '\u202e3.2.1'], ['h3', 'a\u001b[2J\u001b[Hb']]);
    assert.doesNotMatch(c.text(), UNSAFE);
    assert.match(c.text(), /1\.0\\x1b\]52;c;cm0gLXJmIH4K\\x07/);
    assert.match(c.text(), /\\u202e3\.2\.1/);
    assert.equal(c.text().split('\n').length, 5, 'header, three rows, final newline: nothing added lines');
  });

  it('printLine and printJson keep text inert; JSON keeps the same value for scripts', () => {
    const c = capture();
    printLine(c.out, 'agent: ok, version 1.0\u009b2J\u2066');
    const value = { version: '1.0\u009b2J\u202e\u001b[2J' };
    printJson(c.out, value);
    assert.doesNotMatch(c.text(), UNSAFE);
    assert.deepEqual(JSON.parse(c.text().slice(c.text().indexOf('{'))), value);
  });
});

describe('swarmctl host list / host show with a hostile report in the store (real bin, real TLS)', function () {
  this.timeout(60_000);
  it('prints it escaped, never raw', async () => {
    const ctl = await startInProcessController({ logger: silentLogger() });
    const dir = await tempDir('swarm-cli-out-');
    try {
      await enrollDirectly(ctl.store, 'evil');
      // Reached the store by another path (an older controller, a database edit): no schema in between.
      const report = {
        status: 'ok\u001b[2J', release: 'a'.repeat(64), version: '1.0\u001b]52;c;cm0gLXJmIH4K\u0007', pid: 1, startedAt: new Date().toISOString(),
        services: [{ name: 'x\u202e', state: 'running', required: true, restarts: 0, pid: 2 }],
      };
      ctl.context.reports.record('evil', 'agent', { report, at: Date.now(), certNotAfter: null });
      const op = await mintIdentity('operator', 'ops');
      await writeIdentity(dir.path, op, 'operator');
      const env = { SWARMCTL_CONTROLLER: ctl.url, SWARMCTL_IDENTITY: dir.path };
      const list = await runBin(SWARMCTL_BIN, ['host', 'list'], env);
      assert.equal(list.code, 0, list.stderr);
      assert.doesNotMatch(list.stdout, UNSAFE);
      assert.match(list.stdout, /1\.0\\x1b\]52;c;cm0gLXJmIH4K\\x07/);
      const show = await runBin(SWARMCTL_BIN, ['host', 'show', 'evil'], env);
      assert.equal(show.code, 0, show.stderr);
      assert.doesNotMatch(show.stdout, UNSAFE);
      assert.match(show.stdout, /ok\\x1b\[2J, release aaaaaaaaaaaa version 1\.0\\x1b\]52/);
      const json = await runBin(SWARMCTL_BIN, ['--json', 'host', 'show', 'evil'], env);
      assert.equal(json.code, 0, json.stderr);
      assert.doesNotMatch(json.stdout, UNSAFE);
      assert.equal((JSON.parse(json.stdout) as { version: string }).version, report.version, 'scripts still get the value');
    } finally {
      await dir.cleanup();
      await ctl.close();
    }
  });
});

/* eslint-disable no-control-regex -- these assertions are about escape sequences */
describe('swarmctl colour', () => {
  const tty = (): { out: { write(s: string): void; isTTY: boolean }; text: () => string } => {
    let text = '';
    return { out: { write: (s: string) => void (text += s), isTTY: true }, text: () => text };
  };
  const withEnv = (env: Record<string, string | undefined>, fn: () => void): void => {
    const saved = { NO_COLOR: process.env.NO_COLOR, FORCE_COLOR: process.env.FORCE_COLOR, TERM: process.env.TERM };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    try {
      fn();
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  };

  it('colours state words on a terminal, keeps columns aligned, and never colours with NO_COLOR or off a terminal', () => {
    withEnv({ NO_COLOR: undefined, FORCE_COLOR: undefined, TERM: 'xterm' }, () => {
      const t = tty();
      printTable(t.out, ['NAME', 'ONLINE', 'HEALTH'], [['a', 'yes', 'ok'], ['bb', 'no', 'failing']]);
      assert.match(t.text(), /\u001b\[32myes\u001b\[0m {4}/);
      assert.match(t.text(), /\u001b\[31mfailing\u001b\[0m/);
      assert.equal(t.text().replace(/\u001b\[[0-9]+m/g, ''), 'NAME  ONLINE  HEALTH\na     yes     ok\nbb    no      failing\n');
    });
    withEnv({ NO_COLOR: '1', FORCE_COLOR: undefined, TERM: 'xterm' }, () => {
      const t = tty();
      printTable(t.out, ['NAME', 'ONLINE'], [['a', 'yes']]);
      assert.doesNotMatch(t.text(), /\u001b/);
    });
    withEnv({ NO_COLOR: undefined, FORCE_COLOR: undefined, TERM: 'xterm' }, () => {
      let text = '';
      printTable({ write: (s: string) => void (text += s) }, ['NAME', 'ONLINE'], [['a', 'yes']]);
      assert.doesNotMatch(text, /\u001b/);
    });
  });
});
