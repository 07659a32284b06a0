// The system test's fleet: one controller container and two host containers, and the commands the scenario runs in them.
import type { HostView } from '../../shared/operator-api.js';
import type { Container, ExecOptions, ExecResult } from './container.js';
import type { Report } from './report.js';

/** Where the project's files appear inside every container (read-only binds). */
export const MOUNT = { release: '/swarm-test/release', deploy: '/swarm-test/deploy', results: '/swarm-test/results' };

export interface HostPorts {
  updater: number;
  agent: number;
}

export interface FleetHost {
  name: string;
  box: Container;
  ports: HostPorts;
}

export class StepFailed extends Error {}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll (bounded in count and time) until `test` answers a value; throws StepFailed with `what` on timeout. */
export async function until<T>(what: string, test: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; i < 2_000 && Date.now() < deadline; i++) {
    try {
      const v = await test();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new StepFailed(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

export class Fleet {
  controllerUrl = '';
  /** How swarmctl is invoked inside the controller container (install.sh may or may not link /usr/bin/swarmctl). */
  swarmctlArgv: string[] = ['swarmctl'];
  /** The operator's copy of the admin identity (made after install; swarmctl refuses a key owned by another user). */
  identity = '/root/swarm-admin';

  constructor(readonly report: Report, readonly ctl: Container, readonly hosts: FleetHost[]) {}

  /** Run and log a command in a container; throws unless it exits with `expect` (default 0; null: any). */
  async run(box: Container, argv: string[], options: ExecOptions & { expect?: number | null; display?: string; lines?: number } = {}): Promise<ExecResult> {
    const r = await box.exec(argv, options);
    this.report.command(box.name, options.display ?? argv.join(' '), r, options.lines);
    const expect = options.expect === undefined ? 0 : options.expect;
    if (expect !== null && r.code !== expect) throw new StepFailed(`${box.name}: ${options.display ?? argv.join(' ')} exited ${r.signal ?? r.code}, expected ${expect}`);
    return r;
  }

  /** `sh -c` in a container, not logged (probes in polling loops). */
  async quiet(box: Container, script: string, timeoutMs = 30_000): Promise<ExecResult> {
    return box.sh(script, { timeoutMs });
  }

  private swarmctlEnv(): Record<string, string> {
    return { SWARMCTL_CONTROLLER: this.controllerUrl, SWARMCTL_IDENTITY: this.identity };
  }

  /** swarmctl on the controller machine, as root with the admin identity; logged. */
  swarmctl(args: string[], options: { expect?: number | null; input?: string; timeoutMs?: number; lines?: number } = {}): Promise<ExecResult> {
    return this.run(this.ctl, [...this.swarmctlArgv, ...args], { ...options, env: this.swarmctlEnv(), display: `swarmctl ${args.join(' ')}`, timeoutMs: options.timeoutMs ?? 120_000 });
  }

  /** `swarmctl --json ...`, parsed, not logged. */
  async json<T>(args: string[], timeoutMs = 60_000): Promise<T> {
    const r = await this.ctl.exec([...this.swarmctlArgv, '--json', ...args], { env: this.swarmctlEnv(), timeoutMs });
    if (r.code !== 0) throw new StepFailed(`swarmctl --json ${args.join(' ')} exited ${r.signal ?? r.code}: ${r.stderr.trim().split('\n').pop() ?? ''}`);
    return JSON.parse(r.stdout) as T;
  }

  hostList(): Promise<HostView[]> {
    return this.json<HostView[]>(['host', 'list']);
  }

  /** `systemctl show` properties of a unit in a container. */
  async unit(box: Container, unit: string, props: string[]): Promise<Record<string, string>> {
    const r = await box.exec(['systemctl', 'show', unit, ...props.map((p) => `--property=${p}`)]);
    const out: Record<string, string> = {};
    for (const line of r.stdout.split('\n')) {
      const at = line.indexOf('=');
      if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
    }
    return out;
  }

  /** A process's /proc/<pid>/status fields, read inside the container (pid as the container sees it). */
  async procStatus(box: Container, pid: string): Promise<Record<string, string>> {
    const r = await box.exec(['cat', `/proc/${pid}/status`]);
    if (r.code !== 0) throw new StepFailed(`${box.name}: no process ${pid}`);
    const out: Record<string, string> = {};
    for (const line of r.stdout.split('\n')) {
      const m = /^(\w+):\s*(.*)$/.exec(line);
      if (m) out[m[1]!] = m[2]!;
    }
    return out;
  }

  /** `swarm-updater status --json` on a host (root, the updater's config): links, last operation, the agent's own health. */
  async updaterStatus(host: FleetHost): Promise<UpdaterStatusJson> {
    const r = await host.box.exec([...this.updaterArgv(), 'status', '--json', '--config', '/etc/swarm/updater.json'], { timeoutMs: 30_000 });
    if (r.code !== 0) throw new StepFailed(`${host.name}: swarm-updater status exited ${r.code}: ${r.stderr.trim().split('\n').pop() ?? ''}`);
    return JSON.parse(r.stdout) as UpdaterStatusJson;
  }

  updaterArgv(): string[] {
    return ['swarm-updater'];
  }
}

export interface UpdaterStatusJson {
  status: string;
  active: { id: string; version: string } | null;
  prev: { id: string; version: string } | null;
  running: string | null;
  lastOperation: { id: string; kind: string; state: string; error?: { code: string; message: string } | null } | null;
  agent: { status: string; release: string; version: string; pid: number } | null;
  badReleases: string[];
}
