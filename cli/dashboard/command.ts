// swarmctl dashboard: a local, read-only web view of the fleet and its rollouts. This process holds the operator
// identity and speaks mTLS to the controller; the browser gets a loopback page behind a random token.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { z } from 'zod';
import { parseHostPort, parseOptions } from '../../shared/cli.js';
import { cliError } from '../errors.js';
import { printLine } from '../output.js';
import { withSession, type CliIo } from '../session.js';
import { isLoopback, loopbackHosts } from './guard.js';

/** `--listen` when not given: loopback, a port the kernel picks (the token changes each run, so nothing is bookmarked). */
export const DEFAULT_DASHBOARD_LISTEN = '127.0.0.1:0';

const DashboardOptionsSchema = z.object({ listen: z.string().min(1).max(300), open: z.boolean() });

export function registerDashboardCommand(program: Command, io: CliIo): void {
  program.command('dashboard')
    .description('a local read-only web view of the fleet and its rollouts, live; prints its URL (with a one-time token) as the first line and serves until Ctrl-C')
    .option('--listen <host:port>', 'loopback address to serve on; port 0 picks any free port', DEFAULT_DASHBOARD_LISTEN)
    .option('--no-open', 'do not open a browser')
    .action(async (raw: unknown, cmd: Command) => {
      const opts = parseOptions(DashboardOptionsSchema, raw);
      const listen = parseHostPort(opts.listen, '--listen', '127.0.0.1:8780');
      if (!isLoopback(listen.host)) {
        throw cliError('SWARM_ERR_DASHBOARD_NOT_LOOPBACK', `--listen ${opts.listen}: the dashboard listens on loopback only (127.0.0.1, ::1, localhost); from another machine, tunnel: ssh -L 8780:127.0.0.1:8780 HOST, then swarmctl dashboard --listen 127.0.0.1:8780`);
      }
      // The web server (fastify) and the page load only for this command, not at every swarmctl start.
      const [{ buildDashboardApp }, { loadPageFiles }, { sessionSource }] = await Promise.all([import('./app.js'), import('./page-files.js'), import('./source.js')]);
      const page = loadPageFiles();
      await withSession(cmd, io, async (s) => {
        const token = randomBytes(24).toString('base64url');
        const policy = { token, hosts: new Set<string>() };
        const { app } = await buildDashboardApp({ source: sessionSource(s), policy, page });
        // A busy or foreign address fails here with its own code (SWARM_ERR_ADDRESS_IN_USE, ...), printed by runCli.
        await app.listen({ host: listen.host, port: listen.port });
        const addr = app.server.address();
        if (addr === null || typeof addr !== 'object') throw new Error('the dashboard is not listening on a TCP address');
        for (const h of loopbackHosts(addr.address, addr.port)) policy.hosts.add(h);
        const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
        const url = `http://${hostPart}:${addr.port}/?token=${token}`;
        // --json: one document on one line, so a script can read it while the dashboard keeps running.
        if (s.options.json) io.stdout.write(`${JSON.stringify({ url, controller: s.options.controller })}\n`);
        else {
          printLine(io.stdout, url);
          printLine(io.stderr, `swarmctl: dashboard of ${s.options.controller} as ${s.material.identity.name}, read-only; Ctrl-C stops it`);
        }
        if (opts.open) openBrowser(url);
        await untilStopped();
        await app.close();
      });
    });
}

/** Resolves on SIGINT or SIGTERM. */
function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** Best effort: the desktop's browser (xdg-open, open, start); a machine without one just shows the printed URL. */
function openBrowser(url: string): void {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // no opener: the URL is printed
  }
}
