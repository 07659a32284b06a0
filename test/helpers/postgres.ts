// A real PostgreSQL server for tests, started by the test itself: initdb and postgres in a temp dir owned by the
// postgres user, listening on 127.0.0.1 only, a fresh database per test, stopped by its pid when the suite ends (and
// when the test process exits, or by a watchdog within seconds when it is killed; a server that outlived its run
// anyway is swept by the next one). No system service is used.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, chownSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports.js';

const run = promisify(execFile);
const DIR_PREFIX = 'swarm-pg-';
export const POSTGRES_INSTALL_HINT = 'install the PostgreSQL server (Debian: apt-get install -y --no-install-recommends postgresql; .ci/run does this when initdb is missing)';

/** initdb, postgres and pg_isready: on PATH, or in Debian's /usr/lib/postgresql/<major>/bin (newest first). */
export function findPostgresBinaries(): { initdb: string; postgres: string; pgIsready: string } | undefined {
  const debian = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)).map((v) => `/usr/lib/postgresql/${v}/bin`)
    : [];
  const dirs = [...debian, ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)];
  const find = (name: string): string | undefined => dirs.map((d) => join(d, name)).find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  const [initdb, postgres, pgIsready] = [find('initdb'), find('postgres'), find('pg_isready')];
  return initdb && postgres && pgIsready ? { initdb, postgres, pgIsready } : undefined;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export interface PgServer {
  port: number;
  pid: number;
  /** The URL of a database on this server (user postgres, trust authentication on loopback). */
  url(database: string): string;
  /** A fresh, empty database. */
  createDatabase(): Promise<TestDatabase>;
  stop(): Promise<void>;
}

interface Running { child: ChildProcess; dir: string }
const running = new Set<Running>();

/** Stop every server at once, synchronously (process exit): immediate shutdown, then the temp dir goes. */
function killAllNow(): void {
  for (const r of running) {
    try {
      r.child.kill('SIGQUIT');
    } catch {
      // already gone
    }
    rmSync(r.dir, { recursive: true, force: true });
  }
  running.clear();
}
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAllNow();
      process.kill(process.pid, signal);
    });
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Servers of earlier test runs that died without stopping them (SIGKILL): stop them and remove their dirs. */
function sweepOrphans(): void {
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(DIR_PREFIX))) {
    const dir = join(tmpdir(), name);
    try {
      const owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
      if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;
      const pidFile = join(dir, 'data', 'postmaster.pid');
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
        if (Number.isInteger(pid) && pid > 0 && alive(pid)) process.kill(pid, 'SIGQUIT');
      }
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // another run's dir in the making, or already gone
    }
  }
}

/** uid/gid to run the server as: the postgres user when we are root (initdb refuses root), else ourselves. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    return { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()) };
  } catch {
    throw new Error(`running as root, but there is no postgres user to run the test server as: ${POSTGRES_INSTALL_HINT}`);
  }
}

/**
 * A detached watchdog that stops the server when this test process is gone however it died (SIGKILL included,
 * where no exit hook runs), checking once a second; it ends by itself as soon as the server does.
 */
function watchOwner(serverPid: number, dir: string): void {
  const script = 'while [ -d /proc/$1 ] && [ -d /proc/$2 ]; do sleep 1; done; '
    + 'if [ ! -d /proc/$1 ] && [ -d /proc/$2 ]; then kill -QUIT $2; sleep 2; rm -rf "$3"; fi';
  spawn('/bin/sh', ['-c', script, 'pg-watchdog', String(process.pid), String(serverPid), dir], { detached: true, stdio: 'ignore' }).unref();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start a private PostgreSQL server (bounded: about 60 s at most); fails with what to install when it is absent. */
export async function startPostgres(): Promise<PgServer> {
  const bins = findPostgresBinaries();
  if (!bins) throw new Error(`PostgreSQL server binaries (initdb, postgres, pg_isready) not found on PATH or in /usr/lib/postgresql/*/bin: ${POSTGRES_INSTALL_HINT}`);
  sweepOrphans();
  hookExit();
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const as = { ...(user ?? {}), cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', TZ: 'UTC' } };
  try {
    await run(bins.initdb, ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--no-instructions'], { ...as, timeout: 60_000 });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`, { cause: err });
  }

  let lastError = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const child = spawn(bins.postgres, ['-D', data, '-p', String(port), '-k', dir, '-h', '127.0.0.1',
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=100'], { ...as, stdio: ['ignore', 'ignore', 'pipe'] });
    const entry: Running = { child, dir };
    running.add(entry);
    let log = '';
    child.stderr!.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-8192);
    });
    const exited = once(child, 'exit');
    // Ready within 15 s (50 checks, each at most 1 s plus a pause), or this attempt failed.
    let ready = false;
    for (let i = 0; i < 50 && child.exitCode === null && child.signalCode === null; i++) {
      try {
        await run(bins.pgIsready, ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-t', '1'], { timeout: 5_000 });
        ready = true;
        break;
      } catch {
        await sleep(200);
      }
    }
    if (ready) {
      watchOwner(child.pid!, dir);
      return server(entry, port, exited);
    }
    lastError = log;
    child.kill('SIGKILL');
    await Promise.race([exited, sleep(5_000)]);
    running.delete(entry);
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`postgres did not become ready on 127.0.0.1 after 3 attempts: ${lastError}`);
}

function server(entry: Running, port: number, exited: Promise<unknown>): PgServer {
  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  let admin: pg.Client | undefined;
  const adminClient = async (): Promise<pg.Client> => {
    if (!admin) {
      admin = new pg.Client({ connectionString: url('postgres'), connectionTimeoutMillis: 10_000, statement_timeout: 30_000 });
      admin.on('error', () => undefined);
      await admin.connect();
    }
    return admin;
  };
  let n = 0;
  return {
    port,
    pid: entry.child.pid!,
    url,
    async createDatabase() {
      const name = `swarm_test_${process.pid}_${++n}`;
      const c = await adminClient();
      await c.query(`CREATE DATABASE ${name}`);
      return {
        name,
        url: url(name),
        drop: async () => {
          await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        },
      };
    },
    async stop() {
      if (!running.has(entry)) return;
      await admin?.end().catch(() => undefined);
      admin = undefined;
      // Fast shutdown; after 10 s an immediate one; after 5 s more SIGKILL.
      if (entry.child.exitCode === null && entry.child.signalCode === null) {
        entry.child.kill('SIGINT');
        const gone = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
        if (!gone) {
          entry.child.kill('SIGQUIT');
          if (!(await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]))) entry.child.kill('SIGKILL');
        }
      }
      running.delete(entry);
      rmSync(entry.dir, { recursive: true, force: true });
    },
  };
}
