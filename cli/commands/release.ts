// swarmctl release build | keygen: make a reproducible (optionally signed) release and the key that signs it.
import { generateKeyPairSync } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../shared/cli.js';
import { VersionSchema } from '../../shared/release-manifest.js';
import { buildReleaseToFile, signReleaseId } from '../../shared/release/index.js';
import { cliError } from '../errors.js';
import { printJson, printLine } from '../output.js';
import type { CliIo } from '../session.js';

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
}
