// `swarm-controller serve`: load the state directory, build the app, listen, keep the own certificate fresh, stop on signals.
import type { Logger } from 'pino';
import { createSystemdNotifier, listenApp, swapTlsIdentity, trapSignals, type NotifierDeps } from '../shared/server-kit.js';
import { buildControllerApp } from './app.js';
import type { EnrollLimits } from './routes/public.js';
import { describeStoreSpec, loadStateDir, renewControllerIfDue, statePaths } from './state-dir.js';
import type { StoreSpec } from './store/index.js';

export interface ServeOptions {
  stateDir: string;
  /** The store engine (default: SQLite, swarm.db in the state directory). */
  store?: StoreSpec;
  host: string;
  port: number;
  logger: Logger;
  leafLifetimeMs?: number;
  heartbeatMs?: number;
  offlineTimeoutMs?: number;
  enrollLimits?: EnrollLimits;
  /** Called with the bound URL once listening (the bin prints it). */
  onListening?: (url: string) => void;
  /** Resolves when the server should stop (signals, in the bin). */
  until: Promise<unknown>;
  /** Time for the self-renewal check (tests move it); the check runs every renewCheckMs (default 1 h). */
  now?: () => number;
  renewCheckMs?: number;
  /** PEM of the Ed25519 public key release uploads must be signed with. */
  releaseSigningKeyPem?: string;
  /** systemd messages (Type=notify): the environment and runner to use (tests); default process.env and `systemd-notify`. */
  notify?: Pick<NotifierDeps, 'env' | 'runner'>;
}

export async function serveController(options: ServeOptions): Promise<void> {
  const now = options.now ?? Date.now;
  // Under swarm-controller.service (Type=notify, WatchdogSec=): READY=1 once listening, WATCHDOG=1 while the
  // event loop turns, STOPPING=1 on the way out. Does nothing without NOTIFY_SOCKET.
  const notifier = createSystemdNotifier({ logger: options.logger, ...options.notify });
  const state = await loadStateDir(options.stateDir, now(), options.store);
  if (state.renewed) options.logger.info({ op: 'controller.renew', serial: state.material.serial }, 'renewed the controller certificate at start');
  const { app, context } = await buildControllerApp({
    material: state.material,
    ca: state.ca,
    store: state.store,
    logger: options.logger,
    ...(options.leafLifetimeMs ? { leafLifetimeMs: options.leafLifetimeMs } : {}),
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    ...(options.offlineTimeoutMs ? { offlineTimeoutMs: options.offlineTimeoutMs } : {}),
    ...(options.enrollLimits ? { enrollLimits: options.enrollLimits } : {}),
    releasesDir: statePaths(options.stateDir).releases,
    // SQLite: this controller is alone on its database, so the rollout leases a killed predecessor left are its own at once.
    rolloutLease: { exclusive: (options.store?.engine ?? 'sqlite') === 'sqlite' },
    ...(options.releaseSigningKeyPem !== undefined ? { releaseSigningKeyPem: options.releaseSigningKeyPem } : {}),
  });
  let material = state.material;
  let renewing = false;
  const renewTimer = setInterval(() => {
    if (renewing) return; // one renewal at a time
    renewing = true;
    renewControllerIfDue(state.ca, state.store, statePaths(options.stateDir).pki, material, now()).then((renewed) => {
      renewing = false;
      if (!renewed) return;
      material = renewed;
      // New handshakes use the new certificate; existing connections keep theirs.
      swapTlsIdentity(app, renewed, { clientCert: 'optional' });
      options.logger.info({ op: 'controller.renew', serial: renewed.serial }, 'renewed the controller certificate');
    }, (err: unknown) => {
      renewing = false;
      options.logger.error({ err, op: 'controller.renew' }, 'controller certificate renewal failed; retrying at the next check');
    });
  }, options.renewCheckMs ?? 3_600_000);
  renewTimer.unref();
  try {
    // A deep accept queue: after a restart the whole fleet reconnects within seconds.
    const { url } = await listenApp(app, { host: options.host, port: options.port, backlog: 4096 });
    options.logger.info({ op: 'listen', url, cluster: context.cluster, store: describeStoreSpec(options.store ?? { engine: 'sqlite' }, options.stateDir) }, 'controller listening');
    options.onListening?.(url);
    notifier.ready(`serving on ${url}`);
    notifier.startWatchdog();
    await options.until;
    options.logger.info({ op: 'stop' }, 'controller stopping');
    notifier.stopping('stopping');
  } finally {
    clearInterval(renewTimer);
    await app.close();
    await state.store.close();
    await notifier.close();
  }
}

/** A promise that resolves on the first SIGTERM or SIGINT; a second one quits at once. */
export function untilSignal(): Promise<string> {
  return trapSignals({ afterStop: 'default' }).stopped;
}
