// swarmctl host add | list | show | set-address | remove | label, and the pending join tokens (token list | revoke).
import type { Command } from 'commander';
import { z } from 'zod';
import { UsageError, collect } from '../../shared/cli.js';
import { DEFAULT_PKI_DIR, DEFAULT_PORTS } from '../../shared/defaults.js';
import { parseDuration } from '../../shared/duration.js';
import { LIMITS } from '../../shared/limits.js';
import { parseSelector } from '../../shared/selector.js';
import {
  AddHostResponseSchema, HostDetailSchema, HostViewSchema, RemoveResponseSchema, RevokeTokensResponseSchema, TokenViewSchema,
  type AddHostRequest, type LabelRequest, type SetAddressRequest,
} from '../../shared/operator-api.js';
import { printJson, printLine, printTable, relativeTime, shortId } from '../output.js';
import { withSession, type CliIo } from '../session.js';


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

/** HOST[:PORT] with a port from 1 to 65535, checked before anything is sent. */
function checkAddress(address: string): void {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253})(?::(\d{1,5}))?$/.exec(address);
  if (!m) throw new UsageError(`--address "${address}" must be HOST[:PORT], for example 10.0.4.21 or sensor-a.lab:${DEFAULT_PORTS.updater}`);
  if (m[2] !== undefined && !(Number(m[2]) >= 1 && Number(m[2]) <= 65535)) throw new UsageError(`--address "${address}": the port must be from 1 to 65535`);
}

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
    .option('--address <host[:port]>', `the updater's address (port ${DEFAULT_PORTS.updater} when left out)`)
    .option('--label <k=v>', 'a label (repeatable)', collect)
    .option('--token-ttl <duration>', 'how long the join token lasts, 1m to 7d (default: 15m)')
    .addHelpText('after', `\nThe token enrolls the host once; \`swarm-updater join\` runs as root on the host (it writes ${DEFAULT_PKI_DIR}).`)
    .action(async (name: string, opts: { address?: string; label?: string[]; tokenTtl?: string }, cmd: Command) => {
      const labels = parseLabels(opts.label ?? [], false).set;
      if (opts.address !== undefined) checkAddress(opts.address);
      const ttl = opts.tokenTtl === undefined ? undefined : parseDuration(opts.tokenTtl);
      if (opts.tokenTtl !== undefined && (ttl === undefined || ttl < LIMITS['join.tokenTtlMin'].value || ttl > LIMITS['join.tokenTtlMax'].value)) {
        throw new UsageError(`--token-ttl must be a duration from 1m to 7d (like 30m or 2d), got "${opts.tokenTtl}"`);
      }
      const extra = { ...(opts.address ? { address: opts.address } : {}), ...(ttl !== undefined ? { tokenTtlMs: ttl } : {}) };
      await withSession(cmd, io, async (s) => {
        const res = await s.call({ path: '/v1/hosts', method: 'POST', body: { name, ...extra, labels } satisfies AddHostRequest }, AddHostResponseSchema);
        // Every controller URL this operator was given (replicas): join enrolls at the first one it reaches.
        const joinCommand = formatJoinCommand(s.options.controllers.join(','), res.token, res.caHash);
        if (s.options.json) return printJson(io.stdout, { name: res.name, token: res.token, caHash: res.caHash, joinCommand, expiresAt: res.expiresAt });
        printLine(io.stdout, `host ${res.name} registered; its join token is valid once, until ${res.expiresAt}`);
        printLine(io.stdout, `token:   ${res.token}`);
        printLine(io.stdout, `CA hash: ${res.caHash}`);
        printLine(io.stdout, 'run on the host:');
        printLine(io.stdout, `  ${joinCommand}`);
      });
    });

  host.command('list')
    .description('every host: online, agent and updater release and version, health, certificate expiry, last contact')
    .option('--selector <k=v,...>', 'only hosts whose labels match (K=V and K!=V, comma-separated, all must hold)')
    .option('--wide', 'also show the address, the labels and the previous release')
    .action(async (opts: { selector?: string; wide?: boolean }, cmd: Command) => {
      if (opts.selector !== undefined) {
        const terms = parseSelector(opts.selector);
        if (typeof terms === 'string') throw new UsageError(`--selector: ${terms}`);
      }
      await withSession(cmd, io, async (s) => {
        const query = opts.selector !== undefined ? `?${new URLSearchParams({ selector: opts.selector })}` : '';
        const hosts = await s.call({ path: `/v1/hosts${query}` }, z.array(HostViewSchema));
        if (s.options.json) return printJson(io.stdout, hosts);
        const now = Date.now();
        const headers = ['NAME', 'ONLINE', 'RELEASE', 'VERSION', 'HEALTH', 'UPDATER', 'ACTIVE', 'CERT EXPIRY', 'LAST CONTACT'];
        printTable(io.stdout, opts.wide ? [...headers, 'PREV', 'ADDRESS', 'LABELS'] : headers, hosts.map((h) => {
          const row = [
            h.name,
            h.enrolled ? (h.online ? 'yes' : 'no') : 'pending',
            shortId(h.release),
            h.version,
            h.health,
            h.updater ? `${h.updater.version} (${h.updater.status})` : null,
            h.updater?.active ? `${h.updater.active.version} ${shortId(h.updater.active.id)}` : null,
            relativeTime(h.certExpiry, now),
            relativeTime(h.lastContact, now),
          ];
          if (!opts.wide) return row;
          const prev = (h.updater as { prev?: { id: string; version: string } | null } | null)?.prev;
          return [...row, prev ? `${prev.version} ${shortId(prev.id)}` : null, h.address, Object.entries(h.labels).map(([k, v]) => `${k}=${v}`).join(',')];
        }));
        if (hosts.length === 0) printLine(io.stderr, opts.selector ? `no host matches ${opts.selector}` : 'no hosts yet: register one with swarmctl host add NAME');
      });
    });

  host.command('set-address <name> <address>')
    .description(`change the updater's address of a host (HOST[:PORT], port ${DEFAULT_PORTS.updater} when left out; - clears it)`)
    .action(async (name: string, address: string, _opts: unknown, cmd: Command) => {
      if (address !== '-') checkAddress(address);
      await withSession(cmd, io, async (s) => {
        const h = await s.call({ path: `/v1/hosts/${enc(name)}/address`, method: 'PATCH', body: { address: address === '-' ? null : address } satisfies SetAddressRequest }, HostViewSchema);
        if (s.options.json) return printJson(io.stdout, h);
        printLine(io.stdout, `${h.name}: address ${h.address ?? '(none)'}`);
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
        for (const [k, v] of rows) printLine(io.stdout, `${`${k}:`.padEnd(16)}${v}`);
        printLine(io.stdout, '');
        printTable(io.stdout, ['SERIAL', 'ROLE', 'STATE', 'NOT AFTER'], h.certificates.map((c) => [c.serial, c.role, c.state, c.notAfter]));
      });
    });

  host.command('remove <name>')
    .description('remove a host: revoke its certificates and close its channels now')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withSession(cmd, io, async (s) => {
        const res = await s.call({ path: `/v1/hosts/${enc(name)}`, method: 'DELETE' }, RemoveResponseSchema);
        if (s.options.json) return printJson(io.stdout, res);
        printLine(io.stdout, `removed host ${res.name}; revoked ${res.revoked.length} certificate(s)`);
      });
    });

  host.command('label <name> <labels...>')
    .description('set labels (K=V) or remove them (K-)')
    .action(async (name: string, pairs: string[], _opts: unknown, cmd: Command) => {
      const body = parseLabels(pairs, true);
      await withSession(cmd, io, async (s) => {
        const h = await s.call({ path: `/v1/hosts/${enc(name)}/labels`, method: 'PATCH', body: body satisfies LabelRequest }, HostViewSchema);
        if (s.options.json) return printJson(io.stdout, h);
        printLine(io.stdout, `${h.name}: ${Object.entries(h.labels).map(([k, v]) => `${k}=${v}`).join(' ') || '(no labels)'}`);
      });
    });

  const token = program.command('token').description('pending join tokens (issued by host add, not yet used)');
  token.command('list')
    .description('pending join tokens: host and expiry (the secret is never stored, so never shown)')
    .action(async (_opts: unknown, cmd: Command) => {
      await withSession(cmd, io, async (s) => {
        const tokens = await s.call({ path: '/v1/tokens' }, z.array(TokenViewSchema));
        if (s.options.json) return printJson(io.stdout, tokens);
        const now = Date.now();
        printTable(io.stdout, ['HOST', 'ISSUED', 'EXPIRES'], tokens.map((t) => [t.name, relativeTime(t.createdAt, now), relativeTime(t.expiresAt, now)]));
      });
    });
  token.command('revoke <name>')
    .description("revoke a host's pending join tokens (a leaked join command stops working; host add issues a new one)")
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withSession(cmd, io, async (s) => {
        const r = await s.call({ path: `/v1/tokens/${enc(name)}`, method: 'DELETE' }, RevokeTokensResponseSchema);
        if (s.options.json) return printJson(io.stdout, r);
        printLine(io.stdout, `revoked ${r.revoked} pending join token(s) of ${r.name}`);
      });
    });
}
