// swarmctl host add | list | show | remove | label.
import type { Command } from 'commander';
import { z } from 'zod';
import { UsageError } from '../../shared/cli.js';
import { AddHostResponseSchema, HostDetailSchema, HostViewSchema, RemoveResponseSchema } from '../api.js';
import { printJson, printTable, relativeTime, shortId } from '../output.js';
import { withSession, type CliIo } from '../session.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** K=V pairs (and K- to remove, for `host label`). */
export function parseLabels(pairs: readonly string[], allowRemove: boolean): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const p of pairs) {
    if (allowRemove && /^[^=]+-$/.test(p)) {
      remove.push(p.slice(0, -1));
      continue;
    }
    const i = p.indexOf('=');
    if (i <= 0) throw new UsageError(`label "${p}" must be KEY=VALUE${allowRemove ? ' (or KEY- to remove it)' : ''}`);
    set[p.slice(0, i)] = p.slice(i + 1);
  }
  return { set, remove };
}

const enc = encodeURIComponent;

/**
 * The command to paste on the host. The token goes through standard input: `echo` is a shell builtin, so
 * the token never appears in a process's command line (/proc/<pid>/cmdline is readable by every local user),
 * and unlike an environment variable it survives sudo's env_reset.
 */
export function formatJoinCommand(controller: string, token: string, caHash: string): string {
  return `echo ${token} | sudo swarm-updater join --controller ${controller} --ca-hash ${caHash} --token-file -`;
}

export function registerHostCommands(program: Command, io: CliIo): void {
  const host = program.command('host').description('the host registry: enroll, list, inspect, label, remove');

  host.command('add <name>')
    .description('register a host and print its single-use join token, the CA hash and the join command')
    .option('--address <host[:port]>', "the updater's address (port 8766 when left out)")
    .option('--label <k=v>', 'a label (repeatable)', collect)
    .action(async (name: string, opts: { address?: string; label?: string[] }, cmd: Command) => {
      const labels = parseLabels(opts.label ?? [], false).set;
      await withSession(cmd, io, async (s) => {
        const res = await s.call({ path: '/v1/hosts', method: 'POST', body: { name, ...(opts.address ? { address: opts.address } : {}), labels } }, AddHostResponseSchema);
        const joinCommand = formatJoinCommand(s.options.controller, res.token, res.caHash);
        if (s.options.json) return printJson(io.stdout, { name: res.name, token: res.token, caHash: res.caHash, joinCommand, expiresAt: res.expiresAt });
        io.stdout.write(`host ${res.name} registered; its join token is valid once, until ${res.expiresAt}\n`);
        io.stdout.write(`token:   ${res.token}\nCA hash: ${res.caHash}\nrun on the host:\n  ${joinCommand}\n`);
      });
    });

  host.command('list')
    .description('every host: online, agent and updater release and version, health, certificate expiry, last contact')
    .action(async (_opts: unknown, cmd: Command) => {
      await withSession(cmd, io, async (s) => {
        const hosts = await s.call({ path: '/v1/hosts' }, z.array(HostViewSchema));
        if (s.options.json) return printJson(io.stdout, hosts);
        const now = Date.now();
        printTable(io.stdout, ['NAME', 'ONLINE', 'RELEASE', 'VERSION', 'HEALTH', 'UPDATER', 'ACTIVE', 'CERT EXPIRY', 'LAST CONTACT'], hosts.map((h) => [
          h.name,
          h.enrolled ? (h.online ? 'yes' : 'no') : 'pending',
          shortId(h.release),
          h.version,
          h.health,
          h.updater ? `${h.updater.version} (${h.updater.status})` : null,
          h.updater?.active ? `${h.updater.active.version} ${shortId(h.updater.active.id)}` : null,
          relativeTime(h.certExpiry, now),
          relativeTime(h.lastContact, now),
        ]));
      });
    });

  host.command('show <name>')
    .description('one host in detail: registry, latest reports, certificates')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withSession(cmd, io, async (s) => {
        const h = await s.call({ path: `/v1/hosts/${enc(name)}` }, HostDetailSchema);
        if (s.options.json) return printJson(io.stdout, h);
        const now = Date.now();
        const rows: Array<[string, string]> = [
          ['name', h.name],
          ['address', h.address ?? '-'],
          ['labels', Object.entries(h.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-'],
          ['state', h.enrolled ? (h.online ? 'online' : 'offline') : 'pending enrollment'],
          ['last contact', relativeTime(h.lastContact, now)],
          ['channels', `agent ${h.channels.agent ? 'open' : 'closed'}, updater ${h.channels.updater ? 'open' : 'closed'}`],
          ['agent', h.agent ? `${h.agent.status}, release ${shortId(h.agent.release)} version ${h.agent.version}` : '-'],
          ['updater', h.updater ? `${h.updater.status}, version ${h.updater.version}, active ${h.updater.active ? `${h.updater.active.version} ${shortId(h.updater.active.id)}` : '-'}` : '-'],
          ['last operation', h.updater?.lastOperation ? `${h.updater.lastOperation.kind} ${h.updater.lastOperation.state} (${h.updater.lastOperation.id})` : '-'],
          ['cert expiry', relativeTime(h.certExpiry, now)],
        ];
        for (const [k, v] of rows) io.stdout.write(`${`${k}:`.padEnd(16)}${v}\n`);
        io.stdout.write('\n');
        printTable(io.stdout, ['SERIAL', 'ROLE', 'STATE', 'NOT AFTER'], h.certificates.map((c) => [c.serial, c.role, c.state, c.notAfter]));
      });
    });

  host.command('remove <name>')
    .description('remove a host: revoke its certificates and close its channels now')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withSession(cmd, io, async (s) => {
        const res = await s.call({ path: `/v1/hosts/${enc(name)}`, method: 'DELETE' }, RemoveResponseSchema);
        if (s.options.json) return printJson(io.stdout, res);
        io.stdout.write(`removed host ${res.name}; revoked ${res.revoked.length} certificate(s)\n`);
      });
    });

  host.command('label <name> <labels...>')
    .description('set labels (K=V) or remove them (K-)')
    .action(async (name: string, pairs: string[], _opts: unknown, cmd: Command) => {
      const body = parseLabels(pairs, true);
      await withSession(cmd, io, async (s) => {
        const h = await s.call({ path: `/v1/hosts/${enc(name)}/labels`, method: 'PATCH', body }, HostViewSchema);
        if (s.options.json) return printJson(io.stdout, h);
        io.stdout.write(`${h.name}: ${Object.entries(h.labels).map(([k, v]) => `${k}=${v}`).join(' ') || '(no labels)'}\n`);
      });
    });
}
