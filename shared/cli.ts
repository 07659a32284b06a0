// The command framework every bin uses (commander): one actionable stderr line, exit 0/1/2.
import { Command, CommanderError, Option } from 'commander';
import type { z } from 'zod';
import { SwarmError, sharedError } from './errors.js';
import { escapeUnsafeChars } from './printable.js';
import { formatZodIssues } from './validation.js';

export { Command, Option };

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
  if (!r.success) throw new UsageError(formatZodIssues(r.error, '--'));
  return r.data;
}

/** Make a root command whose errors come back to runCli instead of exiting. */
export function createProgram(name: string, description: string): Command {
  const program = new Command(name).description(description).showHelpAfterError(false).configureHelp({ sortSubcommands: true });
  applyDefaults(program);
  return program;
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
export function parseHostPort(value: string, flag: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new UsageError(`${flag} "${value}" must be HOST:PORT, for example 127.0.0.1:8766`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** The bin entry: run and exit with the code. */
export function main(program: Command): void {
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
