// swarmctl cert list, status, audit: read-only views of the fleet.
import type { Command } from 'commander';
import { z } from 'zod';
import { UsageError } from '../../shared/cli.js';
import { AuditSchema, CertificateSchema, StatusSchema } from '../api.js';
import { printJson, printLine, printTable, relativeTime, shortId } from '../output.js';
import { withSession, type CliIo } from '../session.js';

export function registerReadCommands(program: Command, io: CliIo): void {
  const cert = program.command('cert').description('issued certificates');
  cert.command('list')
    .description('certificates in force (newest per identity) and revoked ones')
    .option('--role <role>', 'only this role (agent, updater, operator, controller)')
    .option('--name <name>', 'only this name')
    .option('--all', 'also superseded certificates')
    .action(async (opts: { role?: string; name?: string; all?: boolean }, cmd: Command) => {
      if (opts.role && !['agent', 'updater', 'operator', 'controller'].includes(opts.role)) throw new UsageError('--role must be agent, updater, operator or controller');
      const q = new URLSearchParams({ ...(opts.role ? { role: opts.role } : {}), ...(opts.name ? { name: opts.name } : {}), ...(opts.all ? { all: 'true' } : {}) });
      await withSession(cmd, io, async (s) => {
        const certs = await s.call({ path: `/v1/certificates${q.size ? `?${q}` : ''}` }, z.array(CertificateSchema));
        if (s.options.json) return printJson(io.stdout, certs);
        const now = Date.now();
        printTable(io.stdout, ['ROLE', 'NAME', 'SERIAL', 'STATE', 'EXPIRES', 'REVOKED'], certs.map((c) => [c.role, c.name, c.serial, c.state, relativeTime(c.notAfter, now), c.revokedAt]));
      });
    });

  program.command('status')
    .description('fleet summary: hosts online, health, releases, channels, certificates')
    .action(async (_opts: unknown, cmd: Command) => {
      await withSession(cmd, io, async (s) => {
        const st = await s.call({ path: '/v1/status' }, StatusSchema);
        if (s.options.json) return printJson(io.stdout, st);
        const o = io.stdout;
        printLine(o, `cluster ${st.cluster}`);
        printLine(o, `hosts: ${st.hosts.total} (${st.hosts.online} online, ${st.hosts.offline} offline, ${st.hosts.pending} pending enrollment)`);
        printLine(o, `health: ${Object.entries(st.health).map(([k, v]) => `${v} ${k}`).join(', ') || '-'}`);
        printLine(o, `channels: ${st.channels.agent} agent, ${st.channels.updater} updater`);
        printLine(o, `certificates: ${st.certificates.active} valid, ${st.certificates.expiringSoon} expiring soon, ${st.certificates.revoked} revoked`);
        if (st.releases.length > 0) {
          printLine(o, '');
          printTable(o, ['RELEASE', 'VERSION', 'HOSTS'], st.releases.map((r) => [shortId(r.release), r.version, r.hosts]));
        }
      });
    });

  program.command('audit')
    .description('the audit log: who did what')
    .option('--limit <n>', 'at most this many entries', '100')
    .action(async (opts: { limit: string }, cmd: Command) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
      await withSession(cmd, io, async (s) => {
        const entries = await s.call({ path: `/v1/audit?limit=${limit}` }, AuditSchema);
        if (s.options.json) return printJson(io.stdout, entries);
        printTable(io.stdout, ['AT', 'ACTOR', 'ACTION', 'TARGET'], entries.map((e) => [e.at, e.actor, e.action, e.target]));
      });
    });
}
