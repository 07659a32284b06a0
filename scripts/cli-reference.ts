// Writes docs/cli-reference.md: the --help of every command of the four programs, as the built bins print it.
// `npm run docs:cli` regenerates it; test/shared/cli-conventions.test.ts fails when it is out of date.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The build root (dist/): bins are run from here. */
const BUILD_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export const BINS: Readonly<Record<string, string>> = {
  swarmctl: 'cli/main.js',
  'swarm-controller': 'controller/main.js',
  'swarm-updater': 'updater/main.js',
  'swarm-agent': 'agent/main.js',
};

export interface HelpPage {
  bin: string;
  path: string[];
  text: string;
  subcommands: string[];
}

/** The help text of one command, as a person would see it (fixed width, no environment defaults leaking in). */
export function helpOf(bin: string, path: readonly string[]): string {
  const r = spawnSync(process.execPath, [join(BUILD_ROOT, BINS[bin]!), ...path, '--help'], {
    encoding: 'utf8',
    timeout: 15_000,
    env: { PATH: process.env.PATH ?? '', COLUMNS: '100', HOME: '/nonexistent' },
  });
  if (r.status !== 0) throw new Error(`${bin} ${path.join(' ')} --help exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Subcommand names listed under "Commands:" in commander's help. */
export function subcommandsOf(help: string): string[] {
  const section = help.split(/\nCommands:\n/)[1]?.split(/\n\n/)[0];
  if (!section) return [];
  return section.split('\n').map((line) => /^ {2}([a-z][a-z0-9-]*)\b/.exec(line)?.[1]).filter((n): n is string => n !== undefined && n !== 'help');
}

/** Every command of every bin, depth first. */
export function allHelpPages(): HelpPage[] {
  const pages: HelpPage[] = [];
  const visit = (bin: string, path: string[]): void => {
    const text = helpOf(bin, path);
    const subcommands = subcommandsOf(text);
    pages.push({ bin, path, text, subcommands });
    for (const sub of subcommands) visit(bin, [...path, sub]);
  };
  for (const bin of Object.keys(BINS)) visit(bin, []);
  return pages;
}

let cached: HelpPage[] | undefined;

/** allHelpPages once per process: the bins test and the conventions test read the same pages. */
export function cachedHelpPages(): HelpPage[] {
  return (cached ??= allHelpPages());
}

export function renderReference(pages: readonly HelpPage[]): string {
  const parts = [
    '# Command reference',
    '',
    'Generated from the programs\' own `--help` by `npm run docs:cli`; a test fails when it is out of date.',
    'The narrative guide is [cli.md](cli.md).',
    '',
  ];
  for (const p of pages) {
    parts.push(`## ${[p.bin, ...p.path].join(' ')}`, '', '```', p.text.trimEnd(), '```', '');
  }
  return parts.join('\n');
}

export const REFERENCE_FILE = join(BUILD_ROOT, '..', 'docs', 'cli-reference.md');

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(REFERENCE_FILE, renderReference(allHelpPages()));
  process.stdout.write(`wrote ${REFERENCE_FILE}\n`);
}
