// Supervises the release's services and turns their states into the agent's health; emits events on changes.
import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../shared/clock.js';
import type { AgentHealth, HealthStatus } from '../shared/wire.js';
import { DEFAULT_POLICY, decideHealth, type SupervisorPolicy } from './health.js';
import type { OutputLimits } from './output-log.js';
import type { ReleaseInfo } from './release.js';
import { SupervisedService, nodeSpawner, type LastExit, type ServiceStatus, type Spawner } from './service.js';

export interface SupervisorDeps {
  release: Pick<ReleaseInfo, 'dir' | 'release' | 'version' | 'services'>;
  policy?: SupervisorPolicy;
  clock?: Clock;
  spawner?: Spawner;
  /** Base environment of services (default process.env). */
  env?: NodeJS.ProcessEnv;
  outputLimits?: OutputLimits;
  random?: () => number;
  pid?: number;
}

export interface SupervisorEvents {
  /** A service changed state (or became stable). */
  service: [status: { name: string; state: string; restarts: number; pid: number | null }];
  /** A run of a service ended. */
  exit: [name: string, exit: LastExit];
  /** The agent's health status changed. */
  health: [status: HealthStatus, previous: HealthStatus];
}

/** Emits 'service', 'exit' and 'health' (see SupervisorEvents). */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly policy: SupervisorPolicy;
  private readonly clock: Clock;
  private readonly services: SupervisedService[];
  private readonly startedAt: string;
  private readonly pid: number;
  private current: HealthStatus;

  constructor(private readonly deps: SupervisorDeps) {
    super();
    this.policy = deps.policy ?? DEFAULT_POLICY;
    this.clock = deps.clock ?? systemClock;
    this.pid = deps.pid ?? process.pid;
    this.startedAt = new Date(this.clock.now()).toISOString();
    this.services = deps.release.services.map((spec) => {
      const svc = new SupervisedService({
        spec,
        releaseDir: deps.release.dir,
        policy: this.policy,
        clock: this.clock,
        spawner: deps.spawner ?? nodeSpawner,
        env: deps.env ?? process.env,
        ...(deps.outputLimits ? { outputLimits: deps.outputLimits } : {}),
        ...(deps.random ? { random: deps.random } : {}),
      });
      svc.on('change', () => this.onChange(svc));
      svc.on('exit', (exit: LastExit) => this.emit('exit', spec.name, exit));
      return svc;
    });
    this.current = this.status();
  }

  private onChange(svc: SupervisedService): void {
    this.emit('service', { name: svc.spec.name, state: svc.state, restarts: svc.restartCount, pid: svc.pid });
    const next = this.status();
    if (next !== this.current) {
      const previous = this.current;
      this.current = next;
      this.emit('health', next, previous);
    }
  }

  /** The health status right now (pure decision over the services' facts). */
  status(): HealthStatus {
    return decideHealth(this.services.map((s) => s.facts()), this.clock.now(), this.policy);
  }

  /** Start every service; resolves when each has spawned or failed to spawn. */
  async start(): Promise<void> {
    await Promise.all(this.services.map((s) => s.start()));
  }

  /** Stop every service in parallel (SIGTERM, grace, SIGKILL). */
  async stop(): Promise<void> {
    await Promise.all(this.services.map((s) => s.stop()));
  }

  /** `GET /v1/health` and the channel report. */
  health(): AgentHealth {
    return {
      status: this.status(),
      release: this.deps.release.release,
      version: this.deps.release.version,
      pid: this.pid,
      startedAt: this.startedAt,
      services: this.services.map((s) => ({ name: s.spec.name, state: s.state, required: s.spec.required, restarts: s.restartCount, pid: s.pid })),
    };
  }

  /** Details of every service for `GET /v1/status`. */
  serviceStatus(outputLines?: number): ServiceStatus[] {
    return this.services.map((s) => s.status(outputLines));
  }

  /** One line for systemd's STATUS=. */
  summary(): string {
    const total = this.services.length;
    const running = this.services.filter((s) => s.state === 'running').length;
    const troubled = this.services.filter((s) => s.state !== 'running' && s.state !== 'exited').map((s) => `${s.spec.name} ${s.state}`);
    return `${this.status()}: ${running}/${total} services running${troubled.length > 0 ? `; ${troubled.slice(0, 5).join(', ')}` : ''}`;
  }
}
