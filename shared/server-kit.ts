// Running a Swarm server process: listen and report the bound address, swap the TLS identity live, stop and reload on signals.
// The systemd side (READY/STATUS/STOPPING, the watchdog) is shared/systemd-notify.ts, re-exported here so a bin needs one door.
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { buildServerHttpsOptions, type ServerTlsOptions, type TlsMaterial } from './tls.js';

export { createSystemdNotifier, execNotifyRunner, type Notifier, type NotifierDeps, type NotifyRunner } from './systemd-notify.js';

/**
 * The TLS server under an app built by createHttpsApp. Checked, not cast: fastify's types know only the
 * plain HTTP server, and every caller here needs the TLS one (secure contexts, connection guards, revocation).
 */
export function tlsServerOf(app: FastifyInstance): TlsServer {
  const server: unknown = app.server;
  if (!(server instanceof TlsServer)) throw new TypeError('this app does not serve TLS (build it with createHttpsApp)');
  return server;
}

/**
 * Serve new handshakes with this identity (a renewed certificate, files reloaded on SIGHUP). Connections already
 * open keep the identity they were made with, and session resumption starts over.
 */
export function swapTlsIdentity(app: FastifyInstance, material: TlsMaterial, options: ServerTlsOptions): void {
  tlsServerOf(app).setSecureContext(buildServerHttpsOptions(material, options));
}

export interface BoundAddress {
  /** As the socket reports it (an IPv6 address without brackets). */
  readonly host: string;
  readonly port: number;
  /** `https://HOST:PORT`, IPv6 in brackets: what a client would dial. */
  readonly url: string;
}

/** The address a listening app bound (port 0 becomes the port the kernel chose). */
export function boundAddress(app: FastifyInstance): BoundAddress {
  const addr = app.server.address();
  if (addr === null || typeof addr !== 'object') throw new Error('the server is not listening on a TCP address');
  return describeAddress(addr);
}

export function describeAddress(addr: AddressInfo): BoundAddress {
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return Object.freeze({ host: addr.address, port: addr.port, url: `https://${host}:${addr.port}` });
}

export interface ListenOptions {
  host: string;
  port: number;
  /** Accept queue; the controller wants a deep one (the whole fleet reconnects after a restart). */
  backlog?: number;
}

/** Listen and resolve with the bound address; errors are the caller's to explain (it knows the flag). */
export async function listenApp(app: FastifyInstance, options: ListenOptions): Promise<BoundAddress> {
  await app.listen({ host: options.host, port: options.port, ...(options.backlog !== undefined ? { backlog: options.backlog } : {}) });
  return boundAddress(app);
}

/** Where signals come from: the process, or an emitter in tests. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface SignalTrapOptions {
  /** Signals that stop the process (default SIGTERM and SIGINT). */
  stopOn?: readonly NodeJS.Signals[];
  /**
   * After the first stop signal: `absorb` keeps listening so a repeated signal cannot kill a process that is
   * stopping its children (the default); `default` lets a second one take its default action (force quit).
   */
  afterStop?: 'absorb' | 'default';
  /** Other signals and what they do (SIGHUP reloads TLS in the agent, SIGUSR2 reads local requests in the updater). */
  handlers?: Partial<Record<NodeJS.Signals, () => void>>;
  source?: SignalSource;
}

export interface SignalTrap {
  /** Resolves with the first stop signal. */
  readonly stopped: Promise<NodeJS.Signals>;
  /** Replace the handler of one of the `handlers` signals (e.g. reload once the server exists; until then it was ignored). */
  handle(signal: NodeJS.Signals, fn: () => void): void;
  /** Stop listening (a process that returns instead of exiting). */
  dispose(): void;
}

/**
 * Trap stop and other signals from the start, before anything is built: a stop during startup waits for the
 * startup, then stops what started, so no child is orphaned.
 */
export function trapSignals(options: SignalTrapOptions = {}): SignalTrap {
  const source = options.source ?? process;
  const stopOn = options.stopOn ?? ['SIGTERM', 'SIGINT'];
  const handlers = new Map<NodeJS.Signals, () => void>(Object.entries(options.handlers ?? {}) as Array<[NodeJS.Signals, () => void]>);
  let resolveStop!: (signal: NodeJS.Signals) => void;
  const stopped = new Promise<NodeJS.Signals>((resolve) => (resolveStop = resolve));
  let stopping = false;
  const onStop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    if (options.afterStop === 'default') for (const s of stopOn) source.off(s, onStop);
    resolveStop(signal);
  };
  const onOther = (signal: NodeJS.Signals): void => handlers.get(signal)?.();
  for (const s of stopOn) source.on(s, onStop);
  for (const s of handlers.keys()) source.on(s, onOther);
  return {
    stopped,
    handle(signal, fn) {
      if (!handlers.has(signal)) source.on(signal, onOther);
      handlers.set(signal, fn);
    },
    dispose() {
      for (const s of stopOn) source.off(s, onStop);
      for (const s of handlers.keys()) source.off(s, onOther);
    },
  };
}
