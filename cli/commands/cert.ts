// swarmctl cert list, status, audit: read-only views of the fleet.
import type { Command } from 'commander';
import { z } from 'zod';
import { UsageError } from '../../shared/cli.js';
import { parseDuration } from '../../shared/duration.js';
import { pause } from '../../shared/clock.js';
import { AuditSchema, CertificateViewSchema, FleetStatusSchema } from '../../shared/operator-api.js';
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
        const certs = await s.call({ path: `/v1/certificates${q.size ? `?${q}` : ''}` }, z.array(CertificateViewSchema));
        if (s.options.json) return printJson(io.stdout, certs);
        const now = Date.now();
        printTable(io.stdout, ['ROLE', 'NAME', 'SERIAL', 'STATE', 'EXPIRES', 'REVOKED'], certs.map((c) => [c.role, c.name, c.serial, c.state, relativeTime(c.notAfter, now), c.revokedAt]));
      });
    });

  program.command('status')
    .description('fleet summary: hosts online, health, releases, channels, certificates')
    .action(async (_opts: unknown, cmd: Command) => {
      await withSession(cmd, io, async (s) => {
        const st = await s.call({ path: '/v1/status' }, FleetStatusSchema);
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
    .description('the audit log: who did what, newest first')
    .option('--limit <n>', 'at most this many entries', '100')
    .option('--since <duration>', 'only entries newer than this (e.g. 90s, 15m, 2h, 7d)')
    .option('--follow', 'print the entries in the order they happened, then each new one as it is written (Ctrl-C stops)')
    .action(async (opts: { limit: string; since?: string; follow?: boolean }, cmd: Command) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError('--limit must be an integer from 1 to 10000');
      let since: string | undefined;
      if (opts.since !== undefined) {
        const ms = parseDuration(opts.since);
        if (ms === undefined) throw new UsageError(`--since must be a duration like 90s, 15m, 2h or 7d, got "${opts.since}"`);
        since = new Date(Date.now() - ms).toISOString();
      }
      await withSession(cmd, io, async (s) => {
        const query = (extra: Record<string, string>): string => `/v1/audit?${new URLSearchParams({ limit: String(limit), ...(since ? { since } : {}), ...extra })}`;
        const entries = await s.call({ path: query({ order: 'desc' }) }, AuditSchema);
        if (!opts.follow) {
          if (s.options.json) return printJson(io.stdout, entries);
          return printTable(io.stdout, ['ID', 'AT', 'ACTOR', 'ACTION', 'TARGET'], entries.map((e) => [e.id, e.at, e.actor, e.action, e.target]));
        }
        // Following reads like tail -f: oldest to newest, then new entries as they come (one JSON object a line with --json).
        const print = (e: (typeof entries)[number]): void => {
          io.stdout.write(s.options.json ? `${JSON.stringify(e)}\n` : `${[e.id, e.at, e.actor, e.action, e.target].join('  ')}\n`);
        };
        const ordered = [...entries].reverse();
        ordered.forEach(print);
        let after = ordered.at(-1)?.id ?? 0;
        const stop = stopSignal();
        while (!stop.aborted) {
          await pause(FOLLOW_POLL_MS, stop);
          if (stop.aborted) break;
          const fresh = await s.call({ path: query({ order: 'asc', after: String(after) }) }, AuditSchema);
          fresh.forEach(print);
          after = fresh.at(-1)?.id ?? after;
        }
      });
    });
}

/** How often `audit --follow` asks for new entries. */
const FOLLOW_POLL_MS = 1000;

/** Aborted on SIGINT or SIGTERM, so a follow loop ends cleanly and the session closes. */
function stopSignal(): AbortSignal {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return ac.signal;
}
