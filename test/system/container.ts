// One booted systemd-nspawn container of the system test: boot, run a command inside (nsenter), power off.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { openSync, closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface ExecOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Killed (SIGKILL) after this long; the result then has signal SIGKILL. Default 60 s. */
  timeoutMs?: number;
  /** Extra environment (the command otherwise gets a bare PATH and LANG, as a root shell on the host would). */
  env?: Record<string, string>;
}

export interface ContainerOptions {
  name: string;
  /** The container's own writable copy of the base root. */
  root: string;
  /** host path -> container path, read-only. */
  bindRo: [string, string][];
  /** host path -> container path, writable. */
  bind: [string, string][];
  /** Capabilities added to nspawn's default set (the agent's CAP_NET_ADMIN is not in it). */
  capabilities: string[];
  /** Where the container's console (boot messages) goes. */
  consoleLog: string;
  /** argv prefix that puts nspawn in a cgroup of its own (cgroup.ts `inOwnCgroup`); none: nspawn is run as is. */
  wrap?: (argv: string[]) => Promise<string[]>;
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Run a program on the host, bounded; never throws for a non-zero exit. */
export async function runHost(cmd: string, args: string[], options: ExecOptions & { cwd?: string } = {}): Promise<ExecResult> {
  const t0 = Date.now();
  const child = spawn(cmd, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  const failed = once(child, 'error').then(([err]) => { throw err as Error; });
  try {
    const [code, signal] = await Promise.race([closed, failed]);
    return { code, signal, stdout, stderr, ms: Date.now() - t0 };
  } finally {
    clearTimeout(timer);
  }
}

export class Container {
  readonly name: string;
  readonly root: string;
  private nspawn: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  /** The container's PID 1 as the host sees it. */
  initPid = 0;

  constructor(private readonly options: ContainerOptions) {
    this.name = options.name;
    this.root = options.root;
  }

  /** Start `systemd-nspawn --boot` (sharing the host's network: every Swarm port is on 127.0.0.1) and find its PID 1. */
  async boot(): Promise<void> {
    const o = this.options;
    const args = [
      '--directory', o.root, '--boot', '--register=no', '--keep-unit', `--machine=${o.name}`, `--hostname=${o.name}`,
      '--console=read-only', '--resolv-conf=off', '--timezone=off', '--link-journal=no',
      ...o.bindRo.map(([h, c]) => `--bind-ro=${h}:${c}`),
      ...o.bind.map(([h, c]) => `--bind=${h}:${c}`),
      ...(o.capabilities.length > 0 ? [`--capability=${o.capabilities.join(',')}`] : []),
    ];
    const argv = o.wrap ? await o.wrap(['systemd-nspawn', ...args]) : ['systemd-nspawn', ...args];
    const fd = openSync(o.consoleLog, 'a');
    try {
      // A pure cgroup v2 tree inside, as on a Debian 12 host, even where this machine mounts cgroup v1 (nspawn
      // would fall back to the hybrid layout there).
      this.nspawn = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', fd, fd], env: { ...process.env, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '1' } });
    } finally {
      closeSync(fd);
    }
    const child = this.nspawn;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('error', () => undefined);
    const deadline = Date.now() + 30_000;
    for (let i = 0; i < 300 && Date.now() < deadline; i++) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      const pid = await this.findInit(child.pid ?? 0);
      if (pid) {
        this.initPid = pid;
        return;
      }
      await sleep(100);
    }
    throw new Error(`container ${o.name}: systemd-nspawn started no PID 1 within 30 s (see ${o.consoleLog})`);
  }

  /** The descendant of systemd-nspawn that is PID 1 in its own PID namespace. */
  private async findInit(nspawnPid: number): Promise<number | undefined> {
    const queue = [nspawnPid];
    for (let n = 0; n < 20 && queue.length > 0; n++) {
      const pid = queue.shift()!;
      const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
      for (const c of children.trim().split(/\s+/).filter(Boolean).map(Number)) {
        const status = await readFile(`/proc/${c}/status`, 'utf8').catch(() => '');
        const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/);
        if (nspid && nspid.length > 1 && nspid[nspid.length - 1] === '1') return c;
        queue.push(c);
      }
    }
    return undefined;
  }

  /** Run a command inside the container (its mount, UTS, IPC and PID namespaces) as root. */
  exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const env = Object.entries({ PATH, LANG: 'C.UTF-8', NO_COLOR: '1', SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0', ...options.env }).map(([k, v]) => `${k}=${v}`);
    return runHost('nsenter', ['--target', String(this.initPid), '--mount', '--uts', '--ipc', '--pid', '--', 'env', '-i', ...env, ...argv], options);
  }

  /** `sh -c SCRIPT` inside. */
  sh(script: string, options: ExecOptions = {}): Promise<ExecResult> {
    return this.exec(['sh', '-c', script], options);
  }

  /** Wait (bounded) until systemd says the boot is over: `running`, or `degraded` with the failed units named. */
  async waitBooted(timeoutMs = 120_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let r = await this.exec(['systemctl', 'is-system-running', '--wait'], { timeoutMs });
    // Right after the exec of PID 1, systemd does not answer yet ("offline"): ask again, bounded.
    for (let i = 0; i < 100 && Date.now() < deadline && ['offline', 'unknown', ''].includes(r.stdout.trim()); i++) {
      await sleep(200);
      r = await this.exec(['systemctl', 'is-system-running', '--wait'], { timeoutMs: Math.max(1_000, deadline - Date.now()) });
    }
    const state = r.stdout.trim();
    if (state === 'running') return state;
    const failed = await this.exec(['systemctl', '--failed', '--no-legend', '--plain']);
    if (state === 'degraded') return `degraded (${failed.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0]).join(', ')})`;
    throw new Error(`container ${this.name} did not finish booting: ${state || r.stderr.trim() || `exit ${r.code}`}`);
  }

  /** Power off (bounded), then SIGTERM and SIGKILL nspawn if it is still there. */
  async stop(): Promise<void> {
    const child = this.nspawn;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    if (this.initPid) await this.exec(['systemctl', 'poweroff'], { timeoutMs: 10_000 }).catch(() => undefined);
    for (const [signal, wait] of [[null, 45_000], ['SIGTERM', 20_000], ['SIGKILL', 10_000]] as const) {
      if (signal) child.kill(signal);
      const done = await Promise.race([this.exited!.then(() => true), sleep(wait).then(() => false)]);
      if (done) return;
    }
  }
}
