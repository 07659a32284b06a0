// `swarm-updater run` (the worker): serve the API, finish an interrupted operation, keep the agent running.
import type { Logger } from 'pino';
import { writeFileAtomic } from '../shared/files.js';
import { LIMITS } from '../shared/limits.js';
import { HostRevocation } from '../controller-client/index.js';
import { createSystemdNotifier, listenApp, swapTlsIdentity, trapSignals } from '../shared/server-kit.js';
import { buildUpdaterApp } from './app.js';
import { startControllerLink, type ControllerLink } from './controller-link.js';
import type { UpdaterConfig } from './config.js';
import { ReleaseStore } from './install/index.js';
import { serveLocalRequests } from './local-requests.js';
import { SelfUpdateJournalFile } from './self-update-journal.js';
import { SelfUpdater } from './self-update.js';
import { SpawnAgentRunner, processStartTime } from './spawn-runner.js';
import { EXIT_HAND_OVER } from './supervisor.js';
import { buildHostParts } from './wiring.js';

/** Runs until SIGTERM/SIGINT (exit 0) or a self-update hand-over (exit 75); resolves with the exit code. */
export async function runDaemon(config: UpdaterConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const supervised = env.SWARM_UPDATER_SUPERVISED === '1';
  const supervisor = supervised ? supervisorPid(env) : undefined;
  // Messages name the unit's main process: the supervisor when we are its worker (MAINPID stays the supervisor).
  const notifier = createSystemdNotifier({ env, logger, pid: supervisor ?? process.pid });
  let onOperationEnd: () => void = () => undefined;
  const parts = await buildHostParts(config, logger, { env, onOperationEnd: () => onOperationEnd() });
  const { paths, updater, runner, operations } = parts;
  let resolveExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((r) => { resolveExit = r; });

  const updaterStore = new ReleaseStore({ root: paths.updaterRoot, stagingDir: paths.updaterStaging, stateDir: paths.updaterState, logger });
  await updaterStore.init();
  const selfUpdater = new SelfUpdater({
    store: updaterStore, journal: new SelfUpdateJournalFile(paths.selfUpdateJournal), operations, updater,
    limits: config.limits, keep: config.keep, logger, env, handOver: () => void shutdown(EXIT_HAND_OVER),
    ...(parts.signingPublicKeyPem ? { signingPublicKeyPem: parts.signingPublicKeyPem } : {}),
  });
  // Loaded before the server listens: a serial revoked before a restart is refused from the first request.
  const revocation = await HostRevocation.open({ cluster: parts.material.identity.cluster, caPem: parts.material.ca, file: paths.revoked, logger });
  const app = await buildUpdaterApp({
    material: parts.material, logger, updater, store: parts.store, operations, isRevoked: revocation.isRevoked,
    // Two probe deadlines (update, then rollback), the watch window, two agent stops, and slack.
    connectionTimeoutMs: 2 * config.probe.deadlineMs + config.watch.windowMs + 2 * config.agent.stopGraceMs + 60_000,
    uploadPace: { minBytesPerSecond: config.upload.minBytesPerSecond, windowMs: config.upload.rateWindowMs, deadlineMs: config.upload.deadlineMs },
    ...(supervised ? { selfUpdate: (r) => selfUpdater.start(r) } : {}),
  });

  let stopping = false;
  async function shutdown(code: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    logger.info({ code }, 'updater stopping');
    if (code !== EXIT_HAND_OVER) notifier.stopping('stopping');
    await link?.close().catch(() => undefined);
    await app.close().catch(() => undefined);
    // Under systemd the agent is its own unit and keeps running; a spawned agent is our child and stops with us.
    if (runner instanceof SpawnAgentRunner) await runner.close().catch(() => undefined);
    await parts.dispatcher.close().catch(() => undefined);
    await notifier.close();
    resolveExit(code);
  }
  const onUsr2 = (): void => void serveLocalRequests(paths.requests, {
    rollback: (r) => updater.rollback({ requestedBy: 'local', ...(r.reason ? { reason: r.reason } : {}) }),
    unmarkBad: (release) => updater.unmarkBad(release, 'local'),
  }).catch((err: unknown) => logger.error({ err }, 'local request failed'));
  const signals = trapSignals({ handlers: { SIGUSR2: onUsr2 } });
  void signals.stopped.then(() => shutdown(0));

  await updater.start();
  revocation.attach(app.server);
  const { port } = await listenApp(app, config.listen);
  let link: ControllerLink | undefined;
  if (config.controller) {
    link = await startControllerLink({
      controllerUrl: config.controller, pkiDir: config.pkiDir, material: parts.currentMaterial, status: () => updater.status(), logger,
      revocation, crlRefreshMs: config.revocation.crlRefreshMs, linkStatePath: paths.link,
      onRenewed: async (m) => {
        swapTlsIdentity(app, m, { clientCert: 'required' });
        await parts.reloadMaterial(m);
        logger.info({ notAfter: new Date(m.notAfter).toISOString() }, 'updater certificate renewed');
      },
    });
    onOperationEnd = () => link?.refresh();
  }
  await writeFileAtomic(paths.updaterPid, JSON.stringify({ pid: process.pid, startTime: (await processStartTime(process.pid)) ?? '', port }), 0o644);
  const mem = process.memoryUsage();
  logger.info({ port, host: parts.material.identity.name, mode: runner.mode, version: parts.version, rssMB: Math.round(mem.rss / 1e6), heapMB: Math.round(mem.heapTotal / 1e6), externalMB: Math.round(mem.external / 1e6) }, 'updater listening');
  await selfUpdater.confirmIfOnTrial(env.SWARM_UPDATER_RELEASE_DIR);
  notifier.ready(`serving on ${config.listen.host}:${port}, agent ${runner.mode}`);
  notifier.startWatchdog();
  onUsr2();
  const orphanWatch = supervisor !== undefined ? watchSupervisor(supervisor, logger, () => void shutdown(1)) : undefined;

  const code = await exited;
  if (orphanWatch) clearInterval(orphanWatch);
  signals.dispose();
  return code;
}

/** The supervisor's pid as it gave it (SWARM_UPDATER_SUPERVISOR_PID); an older supervisor gives none: our parent now. */
function supervisorPid(env: NodeJS.ProcessEnv): number {
  const given = Number(env.SWARM_UPDATER_SUPERVISOR_PID);
  return Number.isInteger(given) && given > 0 ? given : process.ppid;
}

/**
 * A worker whose supervisor died (SIGKILLed, and nobody killed the worker with it) stops: it would hold the port and
 * keep notifying systemd for a dead main process, so the restarted unit's new worker could never start. Node has no
 * parent-death signal; a parent pid other than the supervisor's (the worker re-parented to init or a subreaper) is
 * the sign. Checked at once too: the supervisor may have died while this worker was starting.
 */
function watchSupervisor(supervisor: number, logger: Logger, stop: () => void): NodeJS.Timeout {
  const check = (): void => {
    if (process.ppid === supervisor) return;
    clearInterval(timer);
    logger.error({ supervisor, ppid: process.ppid }, `the supervisor (pid ${supervisor}) is gone; this worker stops so that a new one can start`);
    stop();
  };
  const timer = setInterval(check, LIMITS['updater.supervisor-watch-interval'].value);
  timer.unref();
  check();
  return timer;
}
