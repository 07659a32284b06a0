// `swarm-agent run` as a library: load identity and release, listen, supervise, tell systemd, reload TLS, stop cleanly.
import type { FastifyInstance } from 'fastify';
import { systemClock, type Clock } from '../shared/clock.js';
import { isSwarmError } from '../shared/errors.js';
import { HostRevocation } from '../controller-client/index.js';
import { spiffeUri } from '../shared/identity.js';
import type { Logger } from '../shared/logger.js';
import { createSystemdNotifier, listenApp, swapTlsIdentity, type BoundAddress, type Notifier, type NotifyRunner } from '../shared/server-kit.js';
import { loadTlsMaterial, type TlsMaterial } from '../shared/tls.js';
import { buildAgentApp, type AgentView } from './app.js';
import type { ControllerLink } from './controller-link.js';
import { agentError } from './errors.js';
import { loadRelease } from './release.js';
import type { Spawner } from './service.js';
import type { AgentSettings } from './settings.js';
import type { AgentStatus } from './status-schema.js';
import { Supervisor } from './supervisor.js';
import { TlsReloader } from './tls-reload.js';

export interface RunAgentDeps {
  settings: AgentSettings;
  logger: Logger;
  /** The release directory (default process.cwd()). */
  releaseDir?: string;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  spawner?: Spawner;
  notifyRunner?: NotifyRunner;
}

export interface AgentHandle {
  readonly app: FastifyInstance;
  readonly supervisor: Supervisor;
  readonly reloader: TlsReloader;
  readonly notifier: Notifier;
  readonly address: { host: string; port: number };
  /** Reload TLS files from disk (SIGHUP). */
  reloadTls(reason: string): Promise<void>;
  /** Stop services (grace, then kill) and the server; idempotent. */
  stop(reason: string): Promise<void>;
}

/** Load agent.crt/agent.key/ca.crt and check it is an agent identity. */
export async function loadAgentMaterial(pkiDir: string): Promise<TlsMaterial> {
  let material: TlsMaterial;
  try {
    material = await loadTlsMaterial(pkiDir, 'agent');
  } catch (err) {
    if (isSwarmError(err)) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw agentError('SWARM_ERR_AGENT_PKI_UNREADABLE', `cannot read the agent identity in ${pkiDir} (${code}); the swarm-agent user must be able to read agent.key, agent.crt and ca.crt`, { cause: err });
  }
  if (material.identity.role !== 'agent') {
    throw agentError('SWARM_ERR_AGENT_IDENTITY_ROLE', `${pkiDir}/agent.crt is ${spiffeUri(material.identity)}, not an agent identity; re-enroll this host`);
  }
  return material;
}

async function listen(app: FastifyInstance, host: string, port: number): Promise<BoundAddress> {
  try {
    return await listenApp(app, { host, port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw agentError('SWARM_ERR_AGENT_LISTEN_IN_USE', `${host}:${port} is already in use; stop the other process or set --listen / SWARM_AGENT_LISTEN`, { cause: err });
    }
    throw agentError('SWARM_ERR_AGENT_LISTEN_FAILED', `cannot listen on ${host}:${port} (${code ?? (err as Error).message}); set --listen / SWARM_AGENT_LISTEN to a local address`, { cause: err });
  }
}

/** Start the agent; resolves once it listens, its services started, and READY=1 is queued. */
export async function runAgent(deps: RunAgentDeps): Promise<AgentHandle> {
  const { settings } = deps;
  const env = deps.env ?? process.env;
  const clock = deps.clock ?? systemClock;
  const material = await loadAgentMaterial(settings.pkiDir);
  const release = await loadRelease(deps.releaseDir ?? process.cwd());
  const logger = deps.logger.child({ host: material.identity.name, release: release.release });

  const supervisor = new Supervisor({ release, policy: settings.policy, clock, env, ...(deps.spawner ? { spawner: deps.spawner } : {}) });
  const view: AgentView = {
    health: () => supervisor.health(),
    status: (lines): AgentStatus => {
      const current = tlsReloader.current; // requests arrive only after it exists
      return {
        ...supervisor.health(),
        identity: spiffeUri(current.identity),
        tls: { serial: current.serial, notAfter: new Date(current.notAfter).toISOString() },
        policy: { ...settings.policy },
        details: supervisor.serviceStatus(lines),
      };
    },
  };
  // In memory only: the agent may not write the updater's state (another user); it gets the whole list from the
  // controller on every (re)connect and from the CRL at start.
  const revocation = await HostRevocation.open({ cluster: material.identity.cluster, caPem: material.ca, logger });
  const app = await buildAgentApp({ material, view, logger, limits: { ratePerSecond: settings.rateLimitPerSecond }, isRevoked: revocation.isRevoked });
  revocation.attach(app.server);
  const tlsReloader = new TlsReloader({
    pkiDir: settings.pkiDir,
    initial: material,
    load: () => loadAgentMaterial(settings.pkiDir),
    install: (m) => swapTlsIdentity(app, m, { clientCert: 'required' }),
    logger,
    clock,
  });

  let address: BoundAddress;
  try {
    address = await listen(app, settings.listen.host, settings.listen.port);
  } catch (err) {
    await app.close();
    throw err;
  }
  const notifier = createSystemdNotifier({ env, logger, clock, ...(deps.notifyRunner ? { runner: deps.notifyRunner } : {}) });
  let link: ControllerLink | undefined;
  let stopping: Promise<void> | undefined;
  let stopRequested = false;

  supervisor.on('health', (status, previous) => {
    if (stopRequested) return; // services stopping on purpose are not news
    const log = status === 'ok' ? logger.info.bind(logger) : logger.warn.bind(logger);
    log({ status, previous }, `health ${previous} -> ${status}`);
    notifier.status(supervisor.summary());
    link?.reportNow();
  });
  supervisor.on('exit', (name, exit) => logger.info({ service: name, code: exit.code, signal: exit.signal, error: exit.error }, `service ${name} exited`));

  await supervisor.start();
  tlsReloader.watch();
  notifier.ready(supervisor.summary());
  const watchdogMs = notifier.startWatchdog();
  const cpu = process.cpuUsage();
  logger.info({ startupMs: Math.round(process.uptime() * 1000), startupCpuMs: Math.round((cpu.user + cpu.system) / 1000), listen: `${address.host}:${address.port}`, services: release.services.length, version: release.version, watchdogMs, notify: notifier.enabled }, 'agent ready');

  if (settings.controllers !== undefined) {
    const { startControllerLink } = await import('./controller-link.js');
    link = await startControllerLink({
      controllerUrl: settings.controllers, pkiDir: settings.pkiDir, logger, clock,
      material: () => tlsReloader.current,
      report: () => supervisor.health(),
      onRenewed: (m) => tlsReloader.apply(m, 'renewed'),
      revocation, crlRefreshMs: settings.crlRefreshMs,
    });
  }

  return {
    app,
    supervisor,
    reloader: tlsReloader,
    notifier,
    address: { host: address.host, port: address.port },
    reloadTls: (reason) => tlsReloader.reload(reason),
    stop: (reason) => {
      stopRequested = true;
      stopping ??= (async () => {
        logger.info({ reason }, 'agent stopping');
        notifier.stopping(`stopping (${reason})`);
        tlsReloader.close();
        await Promise.all([
          link?.close(),
          app.close(),
          supervisor.stop(),
        ]);
        await notifier.close();
        logger.info({ reason }, 'agent stopped');
      })();
      return stopping;
    },
  };
}
