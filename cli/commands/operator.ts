// swarmctl operator add | remove: the new operator's key is generated here and never sent.
import type { Command } from 'commander';
// pki/ files imported directly (not pki/index.js): the index loads the CRL signer (@peculiar/x509), ~0.2 s of every swarmctl start.
import { UsageError } from '../../shared/cli.js';
import { remoteError } from '../../shared/remote-errors.js';
import { checkTlsMaterial } from '../../shared/tls.js';
import { OperatorIssuedSchema, RemoveResponseSchema, type AddOperatorRequest } from '../../shared/operator-api.js';
import { cliError } from '../errors.js';
import { printJson, printLine } from '../output.js';
import { withSession, type CliIo } from '../session.js';

export function registerOperatorCommands(program: Command, io: CliIo): void {
  const operator = program.command('operator').description('operator identities');

  operator.command('add <name>')
    .description('create an operator identity: key and CSR made here, signed by the controller, written to --out')
    .requiredOption('--out <dir>', 'directory for ca.crt, operator.crt, operator.key (created 0700)')
    .action(async (name: string, opts: { out?: string }, cmd: Command) => {
      if (!opts.out) throw new UsageError('--out DIR is required');
      const out = opts.out;
      // The PKI code (node-forge) loads only for the command that makes a key and a CSR.
      const { assertNoIdentity, createCsr, generateKeyPair, writeIdentityFiles } = await import('../../pki/index.js');
      await assertNoIdentity(out, ['operator']).catch((err: unknown) => {
        throw cliError('SWARM_ERR_CLI_OUT_EXISTS', `${(err as Error).message}`);
      });
      await withSession(cmd, io, async (s) => {
        const key = await generateKeyPair();
        const csr = createCsr({ keyPem: key.privateKeyPem, publicKeyPem: key.publicKeyPem, commonName: name });
        const res = await s.call({ path: '/v1/operators', method: 'POST', body: { name, csr } satisfies AddOperatorRequest }, OperatorIssuedSchema);
        // The new identity trusts the CA this session already trusts, never one the answer names.
        const m = checkTlsMaterial({ ca: s.material.ca, cert: res.cert, key: key.privateKeyPem }, `${out}/operator`, s.material.identity.cluster);
        if (m.identity.role !== 'operator' || m.identity.name !== name) {
          throw remoteError('SWARM_ERR_CONTROLLER_RESPONSE', `the controller issued ${m.identity.role}/${m.identity.name} instead of operator/${name}; nothing written`);
        }
        await writeIdentityFiles(out, 'operator', { caPem: s.material.ca, certPem: res.cert, keyPem: key.privateKeyPem });
        if (s.options.json) return printJson(io.stdout, { name, identity: `spiffe://${m.identity.cluster}/operator/${name}`, dir: out, serial: m.serial, notAfter: res.notAfter });
        printLine(io.stdout, `operator ${name} created in ${out} (serial ${m.serial}, valid until ${res.notAfter}); hand the directory over privately and use it with --identity ${out}`);
      });
    });

  operator.command('remove <name>')
    .description('remove an operator: revoke its certificates and cut its connections')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withSession(cmd, io, async (s) => {
        const res = await s.call({ path: `/v1/operators/${encodeURIComponent(name)}`, method: 'DELETE' }, RemoveResponseSchema);
        if (s.options.json) return printJson(io.stdout, res);
        printLine(io.stdout, `removed operator ${res.name}; revoked ${res.revoked.length} certificate(s)`);
      });
    });
}
