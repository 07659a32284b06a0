// Where `swarm-updater join` takes its token from: a file, standard input, SWARM_JOIN_TOKEN, or (shown to every local user) --token.
import { constants as fsc } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { UsageError } from '../shared/cli.js';
import { LIMITS } from '../shared/limits.js';

export const JOIN_TOKEN_ENV = 'SWARM_JOIN_TOKEN';

export interface TokenSources {
  /** --token: readable by every local user in /proc/<pid>/cmdline while join runs. */
  token?: string | undefined;
  /** --token-file: a path, or `-` for standard input. */
  tokenFile?: string | undefined;
  /** The value of SWARM_JOIN_TOKEN (the environment of a process is private to its user). */
  env?: string | undefined;
  stdin: Readable;
  maxBytes?: number;
}

/** Read up to the first newline (a terminal) or the end (a pipe), refusing more than maxBytes. */
async function readStdinToken(stdin: Readable, maxBytes: number): Promise<string> {
  let text = '';
  try {
    for await (const chunk of stdin as AsyncIterable<Buffer | string>) {
      text += chunk.toString();
      if (Buffer.byteLength(text) > maxBytes) throw new UsageError(`--token-file -: standard input holds more than ${maxBytes} bytes; pipe only the join token`);
      if (text.includes('\n')) break;
    }
  } finally {
    stdin.destroy();
  }
  return text;
}

async function readTokenFile(path: string, maxBytes: number): Promise<string> {
  let fh;
  try {
    fh = await open(path, fsc.O_RDONLY);
  } catch (err) {
    throw new UsageError(`--token-file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); give the file swarmctl host add's token is in, or pipe it: --token-file -`);
  }
  try {
    const st = await fh.stat();
    // A token others can read is as exposed as one on the command line.
    if (st.isFile() && (st.mode & 0o044) !== 0) {
      throw new UsageError(`--token-file ${path} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 ${path}, or pipe the token: --token-file -`);
    }
    // Read in a loop (a pipe such as <(...) delivers in pieces), never past maxBytes + 1.
    const buf = Buffer.alloc(maxBytes + 1);
    let used = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, used, buf.length - used, null);
      if (bytesRead === 0) break;
      used += bytesRead;
      if (used > maxBytes) throw new UsageError(`--token-file ${path} holds more than ${maxBytes} bytes; it should hold only the join token`);
    }
    return buf.subarray(0, used).toString('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * The join token from exactly one source. More than one is refused rather than ranked: a stale
 * SWARM_JOIN_TOKEN silently beating the token just typed would burn the wrong one.
 */
export async function readJoinToken(sources: TokenSources): Promise<string> {
  const maxBytes = sources.maxBytes ?? LIMITS['join.tokenFileBytes'].value;
  const given = [
    sources.token !== undefined ? '--token' : undefined,
    sources.tokenFile !== undefined ? '--token-file' : undefined,
    sources.env !== undefined && sources.env !== '' ? JOIN_TOKEN_ENV : undefined,
  ].filter((s): s is string => s !== undefined);
  if (given.length === 0) throw new UsageError(`no join token: pipe it with --token-file - (or give --token-file FILE, or set ${JOIN_TOKEN_ENV})`);
  if (given.length > 1) throw new UsageError(`the join token was given ${given.length} ways (${given.join(', ')}); give exactly one`);
  let raw: string;
  if (sources.tokenFile === '-') raw = await readStdinToken(sources.stdin, maxBytes);
  else if (sources.tokenFile !== undefined) raw = await readTokenFile(sources.tokenFile, maxBytes);
  else raw = sources.token ?? sources.env ?? '';
  const token = raw.trim();
  if (token === '') throw new UsageError(`the join token from ${given[0]} is empty; it is printed by swarmctl host add`);
  if (/\s/.test(token)) throw new UsageError(`the join token from ${given[0]} holds more than one word; it should hold only the token printed by swarmctl host add`);
  return token;
}
