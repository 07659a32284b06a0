// The command framework every bin uses (commander): one actionable stderr line, exit 0/1/2.
import { Command, CommanderError, Help, Option } from 'commander';
import type { z } from 'zod';
import { SwarmError, sharedError } from './errors.js';
import { DEFAULT_PORTS } from './defaults.js';
import { packageVersion } from './package-version.js';
import { describeSystemError } from './system-errors.js';
import { escapeUnsafeChars } from './printable.js';
import { formatZodIssues } from './validation.js';

export { Command, Option };

/** A repeatable option's parser (commander): each occurrence appends its value. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The help text of a --controller that may be repeated (replicas, DESIGN.md §9). */
export const CONTROLLER_LIST_HELP = 'repeatable: replicas to fail over between';

/** Bad usage: exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Validate parsed options with zod; a failure is bad usage naming the flag. */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new UsageError(kebabFlags(formatZodIssues(r.error, '--')));
  return r.data;
}

/** Option keys are camelCase in code and kebab-case on the command line: errors name the flag as typed. */
function kebabFlags(message: string): string {
  return message.replace(/--([a-z][A-Za-z0-9]*)/g, (_m, key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
}

/** Make a root command whose errors come back to runCli instead of exiting; it answers --version. */
export function createProgram(name: string, description: string): Command {
  const program = new Command(name).description(description).showHelpAfterError(false).configureHelp({
    sortSubcommands: true,
    // A subcommand's help also lists the options every command takes (--controller, --json, ...).
    showGlobalOptions: true,
    // Required options say so, as they would in a man page.
    optionDescription(this: Help, option: Option): string {
      const base = Help.prototype.optionDescription.call(this, option);
      return option.mandatory ? `${base} (required)` : base;
    },
    // --version is answered by runCli as the only argument, not registered with commander: a root option is
    // recognised anywhere on the line and would swallow a subcommand's own --version (`release build --version V`).
    visibleOptions(this: Help, cmd: Command): Option[] {
      const base = Help.prototype.visibleOptions.call(this, cmd);
      return cmd.parent ? base : [new Option('-V, --version', 'print the version and exit'), ...base];
    },
  });
  applyDefaults(program);
  return program;
}

/**
 * Add an "Examples:" section to commands' help, from one table per program keyed by the command path
 * ('host add'). A key naming no command throws, so the table cannot drift from the tree.
 */
export function addExamples(program: Command, examples: Readonly<Record<string, readonly string[]>>): void {
  for (const [path, lines] of Object.entries(examples)) {
    let cmd: Command | undefined = program;
    for (const part of path.split(' ').filter(Boolean)) cmd = cmd?.commands.find((c) => c.name() === part);
    if (!cmd) throw new Error(`examples for "${program.name()} ${path}": no such command`);
    cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
  }
}

function applyDefaults(cmd: Command): void {
  cmd.exitOverride();
  cmd.configureOutput({
    writeErr: () => undefined, // runCli prints the one line itself
    outputError: () => undefined,
  });
  cmd.hook('preSubcommand', (_parent, sub) => applyDefaults(sub));
}

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Run a program; returns the exit code. Only the bin entry calls process.exit with it. */
export async function runCli(program: Command, argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  program.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: () => undefined, outputError: () => undefined });
  for (const sub of allCommands(program)) {
    sub.exitOverride();
    sub.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: () => undefined, outputError: () => undefined });
  }
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    io.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        if (err.exitCode === 0) return 0;
      }
      if (err.code === 'commander.help' && err.exitCode !== 0) {
        // Help shown because a command was missing: usage error, one line.
        io.stderr.write(`${program.name()}: a command is required (see ${program.name()} --help)\n`);
        return 2;
      }
      if (err.code === 'commander.executeSubCommandAsync') return err.exitCode;
      io.stderr.write(`${program.name()}: ${err.message.replace(/^error: /, '')} (see ${program.name()} --help)\n`);
      return 2;
    }
    // Messages can quote what a server or a host said: shown inert, and on one line.
    if (err instanceof UsageError) {
      io.stderr.write(`${program.name()}: ${escapeUnsafeChars(err.message)} (see --help)\n`);
      return 2;
    }
    if (err instanceof SwarmError) {
      io.stderr.write(`${program.name()}: ${escapeUnsafeChars(err.message)} [${err.code}]\n`);
      return err.code === 'SWARM_ERR_USAGE' ? 2 : 1;
    }
    const known = describeSystemError(err);
    if (known) {
      io.stderr.write(`${program.name()}: ${escapeUnsafeChars(known.message)} [${known.code}]\n`);
      return 1;
    }
    const e = err as Error;
    io.stderr.write(`${program.name()}: unexpected error: ${escapeUnsafeChars(e?.message ?? String(err))} [SWARM_ERR_INTERNAL]\n`);
    if (process.env.SWARM_DEBUG) io.stderr.write(`${e?.stack ?? ''}\n`);
    return 1;
  }
}

function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap((c) => allCommands(c))];
}

/** Parse HOST:PORT (IPv6 in brackets); throws UsageError naming the flag. */
export function parseHostPort(value: string, flag: string, example = `127.0.0.1:${DEFAULT_PORTS.updater}`): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new UsageError(`${flag} "${value}" must be HOST:PORT, for example ${example}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/**
 * Output piped into a reader that quits early (`swarmctl host list | head -1`) ends the program quietly, as
 * Unix tools do, instead of dying with an EPIPE stack trace.
 */
export function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}

/** The bin entry: run and exit with the code. */
export function main(program: Command): void {
  exitQuietlyOnClosedPipe();
  runCli(program, process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${program.name()}: ${(err as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}

export { sharedError };
