#!/usr/bin/env node
// The `swarm-controller` bin: init a state directory, serve the fleet.
import { z } from 'zod';
import { addExamples, createProgram, main, parseHostPort, parseOptions } from '../shared/cli.js';
import { DEFAULT_LISTEN, formatListen } from '../shared/defaults.js';
import { CLUSTER_PATTERN } from '../shared/identity.js';
import { createLogger } from '../shared/logger.js';
// The commands' own modules (the PKI, fastify, the store engines) load when a command runs, not for --help: each
// test, wrapper and operator start of this bin pays for what its command uses. spec.ts is the store door's light part.
import { storeSpec, StoreUrlSchema } from './store/spec.js';
import { NAME_PATTERN } from '../shared/names.js';
import { LIMITS } from '../shared/limits.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

const InitSchema = z.object({
  stateDir: z.string().min(1),
  cluster: z.string().regex(CLUSTER_PATTERN, 'must be lowercase letters, digits, . or -'),
  san: z.array(z.string().regex(/^[A-Za-z0-9.:-]{1,253}$/, 'must be a DNS name or an IP address')).default([]),
  store: StoreUrlSchema.optional(),
});

const seconds = z.coerce.number().positive().optional();
const ServeSchema = z.object({
  stateDir: z.string().min(1),
  listen: z.string().default(formatListen(DEFAULT_LISTEN.controller)),
  leafLifetime: seconds,
  heartbeat: seconds,
  offlineTimeout: seconds,
  enrollRate: z.coerce.number().int().positive().default(LIMITS['enroll.per-source-per-minute'].value),
  enrollGlobalRate: z.coerce.number().int().positive().default(LIMITS['enroll.global-per-minute'].value),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  releaseSigningKey: z.string().min(1).optional(),
  store: StoreUrlSchema.optional(),
});

const STORE_HELP = 'keep the data in this PostgreSQL database instead of swarm.db in the state directory (postgres://USER@HOST[:PORT]/DATABASE; give the password by PGPASSWORD or ~/.pgpass, not in the URL)';

/** `--json` on a command: one JSON document on stdout instead of the sentence. */
const wantsJson = (raw: unknown): boolean => (raw as { json?: unknown }).json === true;

export function buildProgram() {
  const program = createProgram('swarm-controller', 'The Swarm fleet controller: CA, host registry, channels, operator API.');

  program.command('init')
    .description('create a state directory: CA, controller identity, operator "admin", database')
    .requiredOption('--state-dir <dir>', 'where the controller keeps its state')
    .requiredOption('--cluster <name>', 'the cluster (trust domain) name')
    .option('--san <dns-or-ip>', 'a DNS name or IP address for the controller certificate (repeatable)', collect)
    .option('--store <postgres-url>', `${STORE_HELP}; the database must be empty`)
    .option('--json', 'print one JSON document')
    .action(async (raw: unknown) => {
      const o = parseOptions(InitSchema, raw);
      const { initStateDir } = await import('./state-dir.js');
      const r = await initStateDir({ stateDir: o.stateDir, cluster: o.cluster, sans: o.san, store: storeSpec(o.store) });
      if (wantsJson(raw)) return void process.stdout.write(`${JSON.stringify({ stateDir: o.stateDir, cluster: o.cluster, caHash: r.caHash, adminDir: r.adminDir }, null, 2)}\n`);
      process.stdout.write(`initialised ${o.stateDir} for cluster ${o.cluster}\nCA hash: ${r.caHash}\noperator identity: ${r.adminDir}\n`);
    });

  program.command('serve')
    .description('serve the controller API and channels')
    .requiredOption('--state-dir <dir>', 'the state directory made by init')
    .option('--listen <host:port>', 'address to listen on', formatListen(DEFAULT_LISTEN.controller))
    .option('--leaf-lifetime <seconds>', 'lifetime of issued agent, updater and operator certificates (default 7 days)')
    .option('--heartbeat <seconds>', 'heartbeat expected from channels (default 10)')
    .option('--offline-timeout <seconds>', 'silence after which a host shows offline (default 3 heartbeats)')
    .option('--enroll-rate <n>', 'enrollment attempts per client IP per minute', String(LIMITS['enroll.per-source-per-minute'].value))
    .option('--enroll-global-rate <n>', 'enrollment attempts from all clients together per minute', String(LIMITS['enroll.global-per-minute'].value))
    .option('--log-level <level>', 'pino log level')
    .option('--release-signing-key <file>', 'Ed25519 public key (swarmctl release keygen: FILE.pub); release uploads must be signed by it')
    .option('--store <postgres-url>', 'the PostgreSQL database init was given with --store (default: swarm.db in the state directory)')
    .action(async (raw: unknown) => {
      const o = parseOptions(ServeSchema, raw);
      const [{ readReleaseSigningKey }, { serveController, untilSignal }] = await Promise.all([import('./releases/index.js'), import('./serve.js')]);
      const releaseSigningKeyPem = o.releaseSigningKey === undefined ? undefined : await readReleaseSigningKey(o.releaseSigningKey);
      const { host, port } = parseHostPort(o.listen, '--listen', formatListen(DEFAULT_LISTEN.controller));
      const logger = createLogger({ name: 'swarm-controller', ...(o.logLevel ? { level: o.logLevel } : {}) });
      await serveController({
        stateDir: o.stateDir,
        store: storeSpec(o.store),
        host,
        port,
        logger,
        ...(o.leafLifetime ? { leafLifetimeMs: o.leafLifetime * 1000 } : {}),
        ...(o.heartbeat ? { heartbeatMs: o.heartbeat * 1000 } : {}),
        ...(o.offlineTimeout ? { offlineTimeoutMs: o.offlineTimeout * 1000 } : {}),
        enrollLimits: { max: o.enrollRate, windowMs: 60_000, globalMax: o.enrollGlobalRate },
        ...(releaseSigningKeyPem !== undefined ? { releaseSigningKeyPem } : {}),
        onListening: (url) => process.stdout.write(`listening ${url}\n`),
        until: untilSignal(),
      });
    });
  program.command('issue-operator')
    .description('break-glass: issue an operator identity locally with the CA key (when no operator can log in)')
    .requiredOption('--state-dir <dir>', 'the state directory made by init')
    .requiredOption('--name <name>', 'operator name')
    .requiredOption('--out <dir>', 'directory for ca.crt, operator.crt, operator.key (must not hold an identity)')
    .option('--store <postgres-url>', 'the PostgreSQL database init was given with --store (default: swarm.db in the state directory)')
    .option('--json', 'print one JSON document')
    .action(async (raw: unknown) => {
      const o = parseOptions(z.object({ stateDir: z.string().min(1), name: z.string().regex(NAME_PATTERN, 'must be a name'), out: z.string().min(1), store: StoreUrlSchema.optional() }), raw);
      const { issueOperatorLocally } = await import('./state-dir.js');
      const r = await issueOperatorLocally({ stateDir: o.stateDir, name: o.name, outDir: o.out, store: storeSpec(o.store) });
      if (wantsJson(raw)) return void process.stdout.write(`${JSON.stringify({ name: o.name, out: o.out, serial: r.serial, notAfter: new Date(r.notAfter).toISOString() }, null, 2)}\n`);
      process.stdout.write(`operator ${o.name} issued in ${o.out} (serial ${r.serial}, valid until ${new Date(r.notAfter).toISOString()})\n`);
    });
  program.command('rotate-identity')
    .description('issue the controller a new certificate and revoke the old ones (a leaked controller key); restart serve afterwards')
    .requiredOption('--state-dir <dir>', 'the state directory made by init')
    .option('--store <postgres-url>', 'the PostgreSQL database init was given with --store (default: swarm.db in the state directory)')
    .option('--json', 'print one JSON document')
    .action(async (raw: unknown) => {
      const o = parseOptions(z.object({ stateDir: z.string().min(1), store: StoreUrlSchema.optional() }), raw);
      const { rotateControllerIdentity } = await import('./state-dir.js');
      const r = await rotateControllerIdentity({ stateDir: o.stateDir, store: storeSpec(o.store) });
      if (wantsJson(raw)) return void process.stdout.write(`${JSON.stringify({ serial: r.serial, notAfter: new Date(r.notAfter).toISOString(), revoked: r.revoked }, null, 2)}\n`);
      process.stdout.write(`controller certificate ${r.serial} issued (valid until ${new Date(r.notAfter).toISOString()}); revoked ${r.revoked.length ? r.revoked.join(', ') : 'none'}; restart swarm-controller serve to use it\n`);
    });
  addExamples(program, {
    '': ['swarm-controller init --state-dir /var/lib/swarm --cluster lab', 'swarm-controller serve --state-dir /var/lib/swarm'],
    init: ['swarm-controller init --state-dir /var/lib/swarm --cluster lab --san controller.example --san 10.0.0.5', 'PGPASSWORD=... swarm-controller init --state-dir /var/lib/swarm --cluster lab --store postgres://swarm@db.example:5432/swarm'],
    serve: ['swarm-controller serve --state-dir /var/lib/swarm', 'swarm-controller serve --state-dir ./state --listen 127.0.0.1:8770 --log-level debug', 'swarm-controller serve --state-dir /var/lib/swarm --release-signing-key /etc/swarm/release.key.pub', 'PGPASSWORD=... swarm-controller serve --state-dir /var/lib/swarm --store postgres://swarm@db.example:5432/swarm'],
    'rotate-identity': ['swarm-controller rotate-identity --state-dir /var/lib/swarm && systemctl restart swarm-controller'],
    'issue-operator': ['swarm-controller issue-operator --state-dir /var/lib/swarm --name alice --out ./alice-identity'],
  });
  return program;
}

main(buildProgram());
