// Writes docs/cli-reference.md: the --help of every command of the four programs, as the built bins print it.
// `npm run docs:cli` regenerates it; test/shared/cli-conventions.test.ts fails when it is out of date.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forEachLimited } from '../shared/limit-concurrency.js';

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

/** Help pages rendered at once: each is a node process start, and the machine may have few cores. */
const HELP_CONCURRENCY = 4;

/** The help text of one command, as a person would see it (fixed width, no environment defaults leaking in). */
export async function helpOf(bin: string, path: readonly string[]): Promise<string> {
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [join(BUILD_ROOT, BINS[bin]!), ...path, '--help'], {
      encoding: 'utf8', timeout: 15_000, env: { PATH: process.env.PATH ?? '', COLUMNS: '100', HOME: '/nonexistent' },
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }));
  });
  if (r.code !== 0) throw new Error(`${bin} ${path.join(' ')} --help exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Subcommand names listed under "Commands:" in commander's help. */
export function subcommandsOf(help: string): string[] {
  const section = help.split(/\nCommands:\n/)[1]?.split(/\n\n/)[0];
  if (!section) return [];
  return section.split('\n').map((line) => /^ {2}([a-z][a-z0-9-]*)\b/.exec(line)?.[1]).filter((n): n is string => n !== undefined && n !== 'help');
}

/** Every command of every bin, depth first; each level's pages are rendered HELP_CONCURRENCY at a time. */
export async function allHelpPages(): Promise<HelpPage[]> {
  const key = (bin: string, path: readonly string[]): string => [bin, ...path].join(' ');
  const found = new Map<string, HelpPage>();
  let level: Array<{ bin: string; path: string[] }> = Object.keys(BINS).map((bin) => ({ bin, path: [] }));
  for (let depth = 0; level.length > 0 && depth < 16; depth++) {
    await forEachLimited(level, HELP_CONCURRENCY, async ({ bin, path }) => {
      const text = await helpOf(bin, path);
      found.set(key(bin, path), { bin, path, text, subcommands: subcommandsOf(text) });
    });
    level = level.flatMap(({ bin, path }) => found.get(key(bin, path))!.subcommands.map((sub) => ({ bin, path: [...path, sub] })));
  }
  const inOrder = (page: HelpPage): HelpPage[] => [page, ...page.subcommands.flatMap((sub) => inOrder(found.get(key(page.bin, [...page.path, sub]))!))];
  return Object.keys(BINS).flatMap((bin) => inOrder(found.get(key(bin, []))!));
}

let cached: Promise<HelpPage[]> | undefined;

/** allHelpPages once per process: the bins test and the conventions test read the same pages. */
export function cachedHelpPages(): Promise<HelpPage[]> {
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
  writeFileSync(REFERENCE_FILE, renderReference(await allHelpPages()));
  process.stdout.write(`wrote ${REFERENCE_FILE}\n`);
}
