// Every command of the four bins: --help exits 0, an unknown flag or command exits 2 with one actionable stderr line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cachedHelpPages } from '../../scripts/cli-reference.js';

const buildRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BINS: Record<string, string> = {
  'swarm-controller': 'controller/main.js',
  'swarm-updater': 'updater/main.js',
  'swarm-agent': 'agent/main.js',
  swarmctl: 'cli/main.js',
};
/** Commands DESIGN.md §7 pins; each must exist. */
const PINNED: Record<string, string[][]> = {
  'swarm-controller': [['init'], ['serve']],
  'swarm-updater': [['join'], ['run'], ['status'], ['rollback']],
  'swarm-agent': [['run']],
  swarmctl: [['host', 'add'], ['host', 'list'], ['host', 'show'], ['host', 'remove'], ['host', 'label'], ['operator', 'add'], ['operator', 'remove'], ['cert', 'list'], ['status'], ['audit'], ['completion'], ['release', 'build'], ['release', 'keygen']],
};

function run(bin: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(buildRoot, BINS[bin]!), ...args], {
    encoding: 'utf8',
    timeout: 15_000,
    env: { ...process.env, SWARMCTL_CONTROLLER: '', SWARMCTL_IDENTITY: '' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('command-line framework of every bin', function () {
  this.timeout(300_000);
  for (const bin of Object.keys(BINS)) {
    describe(bin, () => {
      it('is built (a missing bin fails here rather than skipping the checks below)', () => {
        assert.ok(existsSync(join(buildRoot, BINS[bin]!)), `${BINS[bin]} exists in the build`);
      });

      it('answers --version with the package version and exit 0', () => {
        for (const flag of ['--version', '-V']) {
          const r = run(bin, [flag]);
          assert.equal(r.status, 0, `${bin} ${flag} exited ${r.status}: ${r.stderr}`);
          assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+/);
        }
      });

      it('answers --help on every command with exit 0', async () => {
        // Every command's help, walked once per test process (scripts/cli-reference.ts asserts exit 0 for each).
        const pages = (await cachedHelpPages()).filter((p) => p.bin === bin);
        for (const p of pages) assert.match(p.text, /Usage:/, `${bin} ${p.path.join(' ')} --help prints usage`);
        const seen = pages.map((p) => p.path.join(' '));
        for (const pinned of PINNED[bin] ?? []) assert.ok(seen.includes(pinned.join(' ')), `${bin} has the pinned command "${pinned.join(' ')}"`);
      });

      it('exits 2 with one line on an unknown flag and an unknown command', () => {
        for (const args of [['--no-such-flag'], ['no-such-command'], [...(PINNED[bin]?.[0] ?? []), '--no-such-flag']]) {
          const r = run(bin, args);
          assert.equal(r.status, 2, `${bin} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
          const lines = r.stderr.trim().split('\n');
          assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
          assert.match(lines[0]!, new RegExp(`^${bin}: `));
        }
      });
    });
  }
});
