// CLI conventions every program follows: help that teaches (examples, required options marked, global
// options shown), and docs that match the real help texts (docs/cli-reference.md is generated; docs/cli.md
// names every swarmctl command).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cachedHelpPages, REFERENCE_FILE, renderReference, type HelpPage } from '../../scripts/cli-reference.js';

describe('CLI conventions (every command of the four programs)', function () {
  this.timeout(180_000);
  let pages: HelpPage[];
  before(async () => {
    pages = await cachedHelpPages();
  });
  const leaves = (): HelpPage[] => pages.filter((p) => p.subcommands.length === 0 || p.path.length === 0);
  const name = (p: HelpPage): string => [p.bin, ...p.path].join(' ');

  it('gives every command (and every program) an Examples section that uses that command', () => {
    const missing = leaves().filter((p) => {
      const examples = p.text.split('\nExamples:\n')[1];
      return !examples || !examples.includes([p.bin, ...p.path].join(' '));
    }).map(name);
    assert.deepEqual(missing, []);
  });

  it('marks required options as required, and shows the global options in subcommand help', () => {
    const swarmctl = pages.filter((p) => p.bin === 'swarmctl' && p.path.length > 0 && p.subcommands.length === 0);
    for (const p of swarmctl) assert.match(p.text, /Global Options:[\s\S]*--controller[\s\S]*--identity[\s\S]*--json/, `${name(p)} shows the global options`);
    const required: Array<[string, RegExp]> = [
      ['swarm-controller init', /--state-dir <dir>.*\(required\)/],
      ['swarm-controller serve', /--state-dir <dir>.*\(required\)/],
      ['swarmctl operator add', /--out <dir>[\s\S]*?\(required\)/],
    ];
    for (const [cmd, re] of required) {
      const page = pages.find((p) => name(p) === cmd);
      assert.ok(page, `${cmd} exists`);
      assert.match(page.text.replace(/\n\s{10,}/g, ' '), re, `${cmd} marks its required option`);
    }
  });

  it('keeps docs/cli-reference.md equal to the real help texts (npm run docs:cli regenerates it)', () => {
    assert.equal(readFileSync(REFERENCE_FILE, 'utf8'), renderReference(pages), 'docs/cli-reference.md is out of date: run npm run docs:cli');
  });

  it('names every swarmctl command in docs/cli.md', () => {
    const doc = readFileSync(REFERENCE_FILE.replace(/cli-reference\.md$/, 'cli.md'), 'utf8');
    const commands = pages.filter((p) => p.bin === 'swarmctl' && p.path.length > 0 && p.subcommands.length === 0).map((p) => p.path.join(' '));
    assert.deepEqual(commands.filter((c) => !doc.includes(`\`${c}`)), []);
  });
});
