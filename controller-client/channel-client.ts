// The agent's and updater's dial-out WebSocket channel to the controller: mTLS, reports, heartbeat, reconnect.
import { createSecureContext, type PeerCertificate, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { CHANNEL_PATHS, MAX_CHANNEL_MESSAGE_BYTES, ServerMessageSchema } from '../shared/channel-protocol.js';
import { backoffDelay } from '../shared/backoff.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { requireHttpsController } from '../shared/https-url.js';
import { LIMITS } from '../shared/limits.js';
import { checkServerIdentity, type TlsMaterial } from '../shared/tls.js';
import { TLS_POLICY } from '../shared/tls-policy.js';

export interface ChannelClientOptions {
  /**
   * The controller's base URL, https://HOST:PORT, or several (replicas, DESIGN.md §9): a failed connect or a
   * dropped channel moves to the next one, round-robin; a full round of failures backs off as with one URL.
   */
  controllerUrl: string | readonly string[];
  role: 'agent' | 'updater';
  /** The current identity; read at every (re)connect so a renewed certificate is used. */
  material: () => TlsMaterial;
  /** The payload sent on connect and at each heartbeat: AgentHealth (agent) or UpdaterStatus (updater), shared/wire.ts. */
  report: () => unknown;
  /** Default: what the controller asks for in its welcome (10 s unless configured). */
  heartbeatMs?: number;
  logger: Logger;
  clock?: Clock;
  /** Reconnect backoff with full jitter: base and cap (default 1 s and 15 s). */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  random?: () => number;
  /** Called when the channel is up (after the controller's welcome), with the URL it is up on. */
  onConnect?: (url: string) => void;
  /**
   * Called whenever an open channel closes (the client reconnects by itself unless closed); not when the
   * client itself moves the channel to a renewed identity.
   */
  onDisconnect?: (info: { code: number; reason: string; url: string }) => void;
  /** Called when a connection attempt fails before the channel opened (refused, TLS, 401/403), with the URL tried. */
  onConnectError?: (err: Error, url: string) => void;
  /** Called with the serials the controller revoked (the whole list after the welcome, then each revocation). */
  onRevoked?: (serials: string[]) => void;
  /** Refuse a controller whose certificate serial is revoked (the host's denylist), at every handshake. */
  isRevoked?: (serial: string) => boolean;
  /**
   * The local address to connect from (default: the system's choice). bench/channels.ts gives each simulated host
   * its own 127.x address, as a real fleet has one per host: the controller caps pending handshakes per source.
   */
  localAddress?: string;
}

export interface ChannelClient {
  readonly connected: boolean;
  /** The URL the channel is up on, or the one it tries next. */
  readonly controllerUrl: string;
  /**
   * Where a request to the controller should go (renewal, CRL): the URL whose channel is up first, then the
   * others in the given order; the given order when no channel is up.
   */
  controllerUrls(): readonly string[];
  /**
   * Send a report soon (after a state change) instead of at the next heartbeat. Calls are coalesced: reports
   * are spaced by at least the controller's heartbeat / channels.client-reports-per-heartbeat, and a deferred
   * one carries the state at the time it is sent.
   */
  reportNow(): void;
  close(): Promise<void>;
}

const DEFAULT_HEARTBEAT_MS = 10_000;
/**
 * Full-jitter cap: after a controller restart 5,000 hosts come back spread over at most this long, about the
 * rate one controller completes handshakes (bench/channels.ts); a longer cap only lengthens the tail.
 */
const DEFAULT_BACKOFF_CAP_MS = 15_000;

/**
 * One parsed TLS context per identity: reconnects (after a controller restart, thousands at once) reuse it
 * instead of parsing the CA, certificate and key again; a renewed identity is a new material object.
 */
const contexts = new WeakMap<TlsMaterial, SecureContext>();
function secureContextOf(material: TlsMaterial): SecureContext {
  let ctx = contexts.get(material);
  if (!ctx) {
    ctx = createSecureContext({ ca: material.ca, cert: material.cert, key: material.key, ...TLS_POLICY });
    contexts.set(material, ctx);
  }
  return ctx;
}

export function startChannelClient(options: ChannelClientOptions): ChannelClient {
  const clock = options.clock ?? systemClock;
  const log = options.logger.child({ channel: options.role });
  const urls: readonly string[] = typeof options.controllerUrl === 'string' ? [options.controllerUrl] : [...options.controllerUrl];
  if (urls.length === 0) throw new TypeError('startChannelClient: no controller URL');
  const channelUrls = urls.map((base) => {
    requireHttpsController(base, 'open a channel');
    const url = new URL(CHANNEL_PATHS[options.role], base);
    url.protocol = 'wss:';
    return url;
  });
  /** The URL in use, and how many in a row failed to connect since the last round began (a round is every URL once). */
  let index = 0;
  let failedInRound = 0;
  let ws: WebSocket | undefined;
  let open = false;
  let closed = false;
  let attempt = 0;
  let heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  /** The controller's heartbeat (its report budget is counted in it), from the welcome. */
  let budgetHeartbeatMs: number | undefined;
  let pingIntervalMs: number | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let pendingTimer: NodeJS.Timeout | undefined;
  let lastSentAt = Number.NEGATIVE_INFINITY;
  let watchdogTimer: NodeJS.Timeout | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  /** The serial the live socket authenticated with, and whether we are closing it to move to a renewed one. */
  let socketSerial: string | undefined;
  let movingToRenewed = false;

  const clear = (t: NodeJS.Timeout | undefined): undefined => {
    if (t) clock.clearTimeout(t);
    return undefined;
  };

  const send = (): void => {
    pendingTimer = clear(pendingTimer);
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    let payload: string;
    try {
      payload = JSON.stringify({ type: 'report', report: options.report(), certNotAfter: new Date(options.material().notAfter).toISOString() });
    } catch (err) {
      log.error({ err }, 'could not build the channel report');
      return;
    }
    ws.send(payload);
    lastSentAt = clock.now();
    armHeartbeat();
  };

  /** Send now, or once the spacing the controller's budget needs has passed (one deferred send covers every call meanwhile). */
  const requestSend = (): void => {
    if (pendingTimer) return;
    const gap = (budgetHeartbeatMs ?? heartbeatMs) / LIMITS['channels.client-reports-per-heartbeat'].value;
    const wait = lastSentAt + gap - clock.now();
    if (wait <= 0) send();
    else pendingTimer = clock.setTimeout(send, wait);
  };

  /**
   * After a renewal the controller revokes the replaced certificate once the new one is in use, and it cuts
   * any connection still on it: move the channel over at the next heartbeat, and reconnect at once.
   */
  const moveToRenewedIdentity = (): boolean => {
    if (!ws || !open || socketSerial === undefined) return false;
    let serial: string;
    try {
      serial = options.material().serial;
    } catch {
      return false;
    }
    if (serial === socketSerial) return false;
    log.info({ serial }, 'moving the channel to the renewed certificate');
    movingToRenewed = true;
    ws.close(1000, 'identity renewed');
    return true;
  };

  /** A heartbeat is due after a quiet heartbeatMs: every send re-arms it. */
  const armHeartbeat = (): void => {
    heartbeatTimer = clear(heartbeatTimer);
    heartbeatTimer = clock.setTimeout(() => {
      heartbeatTimer = undefined;
      if (moveToRenewedIdentity()) return;
      requestSend();
    }, heartbeatMs);
  };

  /** A controller that stops pinging is gone (half-open TCP): drop the socket and reconnect. */
  const armWatchdog = (): void => {
    watchdogTimer = clear(watchdogTimer);
    if (pingIntervalMs === undefined) return;
    watchdogTimer = clock.setTimeout(() => {
      log.warn('no ping from the controller; reconnecting');
      ws?.terminate();
    }, pingIntervalMs * 2.5);
  };

  const scheduleReconnect = (): void => {
    if (closed) return;
    // Full jitter per round: the next URL of an unfinished round at once, so a dead replica costs a host one
    // refused connect, not a backoff; after a whole round of failures the delay grows as with one controller.
    if (urls.length > 1 && failedInRound > 0 && failedInRound < urls.length) {
      reconnectTimer = clock.setTimeout(connect, 0);
      return;
    }
    failedInRound = 0;
    const delay = backoffDelay(attempt++, { baseMs: options.backoffBaseMs ?? 1000, capMs: options.backoffCapMs ?? DEFAULT_BACKOFF_CAP_MS }, options.random);
    reconnectTimer = clock.setTimeout(connect, delay);
  };

  function connect(): void {
    reconnectTimer = undefined;
    if (closed) return;
    let material: TlsMaterial;
    try {
      material = options.material();
    } catch (err) {
      log.error({ err }, 'no TLS material for the channel; retrying');
      scheduleReconnect();
      return;
    }
    const base = urls[index]!;
    const socket = new WebSocket(channelUrls[index]!, {
      secureContext: secureContextOf(material),
      rejectUnauthorized: true,
      checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(cert, material.identity.cluster, { role: 'controller' })
        ?? (options.isRevoked?.(cert.serialNumber) ? new Error(`controller certificate ${cert.serialNumber.toLowerCase()} has been revoked`) : undefined),
      perMessageDeflate: false,
      handshakeTimeout: 15_000,
      maxPayload: MAX_CHANNEL_MESSAGE_BYTES,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    } as unknown as WebSocket.ClientOptions);
    ws = socket;
    socketSerial = material.serial;
    let welcomed = false;
    socket.on('open', () => {
      open = true;
      // A new channel has a fresh budget at the controller.
      lastSentAt = Number.NEGATIVE_INFINITY;
      send();
    });
    socket.on('message', (data) => {
      const r = ServerMessageSchema.safeParse((() => {
        try {
          return JSON.parse(data.toString()) as unknown;
        } catch {
          return undefined;
        }
      })());
      if (!r.success) {
        log.warn('controller sent a message this client does not understand; ignoring it');
        return;
      }
      if (r.data.type === 'welcome') {
        welcomed = true;
        attempt = 0;
        failedInRound = 0;
        budgetHeartbeatMs = r.data.heartbeatMs;
        if (options.heartbeatMs === undefined && r.data.heartbeatMs !== heartbeatMs) {
          heartbeatMs = r.data.heartbeatMs;
          armHeartbeat();
        }
        pingIntervalMs = r.data.pingIntervalMs;
        armWatchdog();
        log.debug('channel open');
        options.onConnect?.(base);
      } else if (r.data.type === 'revoked') {
        options.onRevoked?.(r.data.serials);
      } else {
        log.warn({ code: r.data.code }, `controller refused a message: ${r.data.message}`);
      }
    });
    socket.on('ping', armWatchdog);
    socket.on('error', (err) => {
      if (!open) options.onConnectError?.(err, base);
      log.debug({ err }, 'channel error');
    });
    socket.on('close', (code, reason) => {
      const wasOpen = open;
      open = false;
      if (ws === socket) ws = undefined;
      heartbeatTimer = clear(heartbeatTimer);
      pendingTimer = clear(pendingTimer);
      watchdogTimer = clear(watchdogTimer);
      if (movingToRenewed) {
        movingToRenewed = false;
        if (!closed) reconnectTimer = clock.setTimeout(connect, 0);
        return;
      }
      if (wasOpen && welcomed) {
        log.info({ code, reason: reason.toString(), controller: base }, 'channel closed');
        options.onDisconnect?.({ code, reason: reason.toString(), url: base });
      } else {
        failedInRound += 1;
      }
      // A dropped channel or a failed connect moves to the next controller; a live one stays where it is.
      index = (index + 1) % urls.length;
      scheduleReconnect();
    });
  }

  connect();

  return {
    get connected() {
      return open;
    },
    get controllerUrl() {
      return urls[index]!;
    },
    controllerUrls() {
      return open ? [urls[index]!, ...urls.filter((_, i) => i !== index)] : urls;
    },
    reportNow: requestSend,
    async close(): Promise<void> {
      closed = true;
      reconnectTimer = clear(reconnectTimer);
      heartbeatTimer = clear(heartbeatTimer);
      pendingTimer = clear(pendingTimer);
      watchdogTimer = clear(watchdogTimer);
      const socket = ws;
      if (!socket || socket.readyState === WebSocket.CLOSED) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          socket.terminate();
          resolve();
        }, 1000);
        socket.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
        else socket.close(1000, 'client closing');
      });
    },
  };
}
