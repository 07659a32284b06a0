// swarmctl release build | keygen | upload | list | show: make, sign, store and inspect releases.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { UsageError } from '../../shared/cli.js';
import { limitValue } from '../../shared/limits.js';
import { VersionSchema } from '../../shared/release-manifest.js';
import { ReleaseDetailSchema, ReleaseSchema, type ReleaseJson } from '../../shared/rollout-api.js';
import { cliError } from '../errors.js';
import { printJson, printLine, printTable, shortId } from '../output.js';
import { withSession, type CliIo } from '../session.js';

/** A signature file holds one base64 line (~90 bytes); reading stops well past that. */
const SIGNATURE_FILE_MAX_BYTES = 4096;

/** SHA-256 of a file, streamed (a release may be a gigabyte: never read whole). */
async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The signature to send: --signature FILE, else FILE.sig next to the release when it exists, else none. */
async function readSignature(release: string, explicit: string | undefined): Promise<string | undefined> {
  const path = explicit === undefined ? `${release}.sig` : resolve(explicit);
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    if (explicit === undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw cliError('SWARM_ERR_CLI_FILE_UNREADABLE', `--signature ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!info.isFile() || info.size > SIGNATURE_FILE_MAX_BYTES) throw cliError('SWARM_ERR_CLI_FILE_UNREADABLE', `${path} is not a signature file (one base64 line written by swarmctl release build --sign-key)`);
  const text = (await readFile(path, 'utf8')).trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw cliError('SWARM_ERR_CLI_FILE_UNREADABLE', `${path} does not hold a base64 signature`);
  return text;
}

/** "operator/admin" from "spiffe://cluster/operator/admin": the cluster is the same on every row. */
const actorName = (uri: string): string => uri.replace(/^spiffe:\/\/[^/]+\//, '');

function releaseRow(r: ReleaseJson): Array<string | number> {
  return [shortId(r.id), r.version, r.name, r.size, r.signature === null ? 'no' : 'yes', actorName(r.uploadedBy), r.uploadedAt];
}

/** Write a file only if it does not exist yet (a key is never overwritten by accident). */
async function writeNew(path: string, content: string, mode: number): Promise<void> {
  let fh;
  try {
    fh = await open(path, 'wx', mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw cliError('SWARM_ERR_CLI_FILE_EXISTS', `${path} already exists; refusing to overwrite it (choose another --out or remove it)`);
    throw err;
  }
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function registerReleaseCommands(program: Command, io: CliIo): void {
  const release = program.command('release').description('releases: build, sign, upload, list, show');

  release.command('build <dir>')
    .description('make a reproducible gzip\'d tar of DIR (sorted entries, fixed times, owners and modes): the same input gives the same bytes and id')
    .requiredOption('--version <v>', 'the release version (written into the manifest)')
    .option('--out <file>', 'where to write the release (default: ./<name>-<version>.tar.gz)')
    .option('--sign-key <file>', 'Ed25519 private key (swarmctl release keygen): writes the signature to <out>.sig')
    .action(async (dir: string, opts: { version: string; out?: string; signKey?: string }, cmd: Command) => {
      const version = VersionSchema.safeParse(opts.version);
      if (!version.success) throw new UsageError(`--version "${opts.version}" ${version.error.issues[0]?.message ?? 'is invalid'}`);
      const signKey = opts.signKey === undefined ? undefined : await readFile(resolve(opts.signKey), 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw cliError('SWARM_ERR_CLI_FILE_UNREADABLE', `--sign-key ${opts.signKey} cannot be read (${err.code ?? err.message})`);
      });
      const manifest = JSON.parse(await readFile(resolve(dir, 'swarm-release.json'), 'utf8').catch(() => '{}')) as { name?: unknown };
      const name = typeof manifest.name === 'string' && /^[a-z0-9][a-z0-9._-]{0,63}$/.test(manifest.name) ? manifest.name : basename(resolve(dir));
      const out = resolve(opts.out ?? `${name}-${opts.version}.tar.gz`);
      // The archive code (tar-stream) loads only when a release is built.
      const { buildReleaseToFile, signReleaseId } = await import('../../shared/release/index.js');
      const built = await buildReleaseToFile(resolve(dir), out, { version: opts.version });
      let signature: string | undefined;
      if (signKey !== undefined) {
        try {
          signature = signReleaseId(built.id, signKey);
        } catch (err) {
          throw cliError('SWARM_ERR_CLI_FILE_UNREADABLE', `--sign-key ${opts.signKey} is not an Ed25519 private key (${(err as Error).message})`);
        }
        await writeFile(`${out}.sig`, `${signature}\n`, { mode: 0o644 });
      }
      const json = cmd.optsWithGlobals<{ json?: boolean }>().json === true;
      if (json) return printJson(io.stdout, { id: built.id, version: opts.version, file: out, bytes: built.bytes, ...(signature ? { signature, signatureFile: `${out}.sig` } : {}) });
      printLine(io.stdout, `built ${out} (${built.bytes} bytes)`);
      printLine(io.stdout, `id:      ${built.id}`);
      printLine(io.stdout, `version: ${opts.version}`);
      if (signature) printLine(io.stdout, `signed:  ${out}.sig`);
    });

  release.command('keygen')
    .description('write a new Ed25519 release-signing key pair: FILE (private, 0600) and FILE.pub (give it to the updaters: signingPublicKeyPath)')
    .requiredOption('--out <file>', 'where to write the private key; the public key goes to FILE.pub')
    .action(async (opts: { out: string }, cmd: Command) => {
      const out = resolve(opts.out);
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      await writeNew(out, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
      await writeNew(`${out}.pub`, publicKey.export({ type: 'spki', format: 'pem' }).toString(), 0o644);
      const json = cmd.optsWithGlobals<{ json?: boolean }>().json === true;
      if (json) return printJson(io.stdout, { privateKey: out, publicKey: `${out}.pub` });
      printLine(io.stdout, `wrote ${out} (private, keep it off the controller) and ${out}.pub (for the updaters' signingPublicKeyPath)`);
    });

  release.command('upload <file>')
    .description('store a release on the controller (streamed; the controller checks its id, manifest, entries and, if it requires one, its signature); uploading it again is harmless')
    .option('--signature <file>', 'the detached signature (default: FILE.sig when it exists)')
    .action(async (file: string, opts: { signature?: string }, cmd: Command) => {
      const path = resolve(file);
      const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
        throw cliError('SWARM_ERR_CLI_FILE_UNREADABLE', `${path} cannot be read (${err.code ?? err.message})`);
      });
      if (!info.isFile()) throw cliError('SWARM_ERR_CLI_FILE_UNREADABLE', `${path} is not a file; give a release tarball (swarmctl release build)`);
      const signature = await readSignature(path, opts.signature);
      const id = await hashFile(path);
      await withSession(cmd, io, async (s) => {
        const body = createReadStream(path);
        const stored = await s.call({
          path: '/v1/releases',
          method: 'POST',
          upload: { body, headers: { 'x-swarm-release-sha256': id, ...(signature ? { 'x-swarm-release-signature': signature } : {}) } },
          // The controller answers once the whole body is in and checked: as long as it lets an upload take.
          timeoutMs: limitValue('controller.release.deadline'),
        }, ReleaseSchema).finally(() => body.destroy());
        if (s.options.json) return printJson(io.stdout, stored);
        printLine(io.stdout, `stored ${stored.name} ${stored.version} (${stored.size} bytes${stored.signature ? ', signed' : ''})`);
        printLine(io.stdout, `id: ${stored.id}`);
      });
    });

  release.command('list')
    .description('releases stored on the controller, newest first')
    .action(async (_opts: unknown, cmd: Command) => {
      await withSession(cmd, io, async (s) => {
        const list = await s.call({ path: '/v1/releases' }, z.array(ReleaseSchema));
        if (s.options.json) return printJson(io.stdout, list);
        printTable(io.stdout, ['ID', 'VERSION', 'NAME', 'SIZE', 'SIGNED', 'UPLOADED BY', 'AT'], list.map(releaseRow));
      });
    });

  release.command('show <release>')
    .description('one release (an id, a unique prefix of 8+ hex, or a version): the hosts that run it and the rollouts that used it')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      await withSession(cmd, io, async (s) => {
        const r = await s.call({ path: `/v1/releases/${encodeURIComponent(ref)}` }, ReleaseDetailSchema);
        if (s.options.json) return printJson(io.stdout, r);
        const o = io.stdout;
        printLine(o, `id:          ${r.id}`);
        printLine(o, `name:        ${r.name}`);
        printLine(o, `version:     ${r.version}`);
        printLine(o, `size:        ${r.size} bytes`);
        printLine(o, `signed:      ${r.signature === null ? 'no' : 'yes'}`);
        printLine(o, `uploaded by: ${actorName(r.uploadedBy)} at ${r.uploadedAt}`);
        printLine(o, `hosts:       ${r.hosts.length === 0 ? '-' : r.hosts.join(', ')}`);
        if (r.rollouts.length > 0) {
          printLine(o, '');
          printTable(o, ['ROLLOUT', 'STATE', 'CREATED'], r.rollouts.map((x) => [x.id, x.state, x.createdAt]));
        }
      });
    });
}
