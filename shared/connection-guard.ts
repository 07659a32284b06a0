// The connection guard of every Swarm server: sockets that have not proven who they are can never take the places of those that have.
import { isIPv6, type Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { spiffeUri } from './identity.js';
import { LIMITS } from './limits.js';
import { getPeer } from './tls.js';

/** The caps and timeouts a server applies to its connections; defaults from shared/limits.ts. */
export interface ConnectionLimits {
  /** A socket must finish TLS within this (Node's own default: 120 s). */
  handshakeTimeoutMs: number;
  /** All headers of a request within this. */
  headersTimeoutMs: number;
  /** Sockets in the TLS handshake, all sources; beyond it the busiest source loses its oldest. */
  maxPending: number;
  /** Sockets in the TLS handshake from one source; beyond it that source loses its oldest. */
  maxPendingPerSource: number;
  /** Connections past TLS without a verified certificate (only a server with optional client certs has any). */
  maxAnonymous: number;
  maxAnonymousPerSource: number;
  /** Such a connection is closed this long after its handshake. */
  anonymousLifetimeMs: number;
  /** Live connections per verified identity; a further one is closed at once. */
  maxPerIdentity: number;
}

/** The server defaults, with overrides (tests shorten timeouts; the agent lowers maxPending). */
export function connectionLimits(overrides: Partial<ConnectionLimits> = {}): ConnectionLimits {
  return {
    handshakeTimeoutMs: LIMITS['server.handshake-timeout'].value,
    headersTimeoutMs: LIMITS['server.headers-timeout'].value,
    maxPending: LIMITS['server.max-pending-handshakes'].value,
    maxPendingPerSource: LIMITS['server.max-pending-handshakes-per-source'].value,
    maxAnonymous: LIMITS['server.max-anonymous-connections'].value,
    maxAnonymousPerSource: LIMITS['server.max-anonymous-connections-per-source'].value,
    anonymousLifetimeMs: LIMITS['server.anonymous-connection-lifetime'].value,
    maxPerIdentity: LIMITS['server.max-connections-per-identity'].value,
    ...overrides,
  };
}

/**
 * The source a socket counts against: its IPv4 address, or the /64 of an IPv6 one (a single host commonly holds
 * a whole /64, so per-address counting would not bound it). IPv4-mapped IPv6 addresses count as IPv4.
 */
export function sourceOf(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/**
 * Sockets per source in arrival order. `admit` decides who goes when a cap is passed (no I/O: the guard
 * destroys what it returns): the newcomer's own source first, else the oldest socket of the busiest source,
 * so a flood from one place only ever evicts itself.
 */
export class SourcePool<S> {
  readonly #bySource = new Map<string, Set<S>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  count(source: string): number {
    return this.#bySource.get(source)?.size ?? 0;
  }

  /** Add a socket; returns the sockets to drop so the caps hold again. */
  admit(source: string, socket: S, max: number, maxPerSource: number): S[] {
    let set = this.#bySource.get(source);
    if (!set) {
      set = new Set();
      this.#bySource.set(source, set);
    }
    set.add(socket);
    this.#size++;
    const victims: S[] = [];
    while (set.size > maxPerSource) victims.push(this.#dropOldest(source)!);
    while (this.#size > max) {
      const busiest = this.#busiest();
      if (busiest === undefined) break;
      victims.push(this.#dropOldest(busiest)!);
    }
    return victims;
  }

  /** Forget a socket (closed, or moved on); false when it was not here. */
  delete(source: string, socket: S): boolean {
    const set = this.#bySource.get(source);
    if (!set?.delete(socket)) return false;
    this.#size--;
    if (set.size === 0) this.#bySource.delete(source);
    return true;
  }

  #dropOldest(source: string): S | undefined {
    const set = this.#bySource.get(source);
    const oldest = set?.values().next().value;
    if (oldest === undefined) return undefined;
    this.delete(source, oldest);
    return oldest;
  }

  #busiest(): string | undefined {
    let best: string | undefined;
    let bestSize = 0;
    for (const [source, set] of this.#bySource) {
      if (set.size > bestSize) {
        best = source;
        bestSize = set.size;
      }
    }
    return best;
  }
}

export interface ConnectionStats {
  pending: number;
  anonymous: number;
  verified: number;
  /** Sockets dropped by a cap since the server started. */
  dropped: { pending: number; anonymous: number; identity: number; anonymousExpired: number };
}

export interface ConnectionGuard {
  stats(): ConnectionStats;
}

export interface ConnectionGuardOptions {
  limits: ConnectionLimits;
  /** Whose certificates count as verified identities. */
  cluster: string;
  logger: Logger;
}

/** What ties a raw TCP socket to the TLS socket made from it: the same four-tuple. */
function tupleOf(s: Socket): string {
  return `${s.remoteAddress}|${s.remotePort}|${s.localAddress}|${s.localPort}`;
}

/**
 * Watch a TLS server's sockets: cap the ones still in the handshake (globally and per source), then sort
 * each finished one into a verified identity (capped per identity) or an anonymous connection (capped
 * globally and per source, and closed after a lifetime). Node's `maxConnections` counts every socket
 * alike, so a flood of silent ones locked out the callers that mattered; this never does.
 * The handshake timeout itself is a TLS server option (`handshakeTimeout`, set by createHttpsApp).
 */
export function guardConnections(server: TlsServer, o: ConnectionGuardOptions): ConnectionGuard {
  const { limits } = o;
  const pending = new SourcePool<Socket>();
  const pendingByTuple = new Map<string, { raw: Socket; source: string }>();
  const anonymous = new SourcePool<TLSSocket>();
  const perIdentity = new Map<string, number>();
  let verified = 0;
  const dropped = { pending: 0, anonymous: 0, identity: 0, anonymousExpired: 0 };
  let logged = { at: 0, total: 0 };

  const report = (): void => {
    const total = dropped.pending + dropped.anonymous + dropped.identity + dropped.anonymousExpired;
    const now = performance.now();
    if (total === logged.total || (logged.at !== 0 && now - logged.at < LIMITS['server.eviction-log-interval'].value)) return;
    o.logger.warn({ op: 'connection-guard', dropped: { ...dropped }, pending: pending.size, anonymous: anonymous.size }, 'connection caps are dropping sockets (a flood of unauthenticated connections?)');
    logged = { at: now, total };
  };

  server.on('connection', (raw: Socket) => {
    if (raw.remoteAddress === undefined) return; // already gone
    const source = sourceOf(raw.remoteAddress);
    const tuple = tupleOf(raw);
    pendingByTuple.set(tuple, { raw, source });
    raw.once('close', () => {
      pending.delete(source, raw);
      if (pendingByTuple.get(tuple)?.raw === raw) pendingByTuple.delete(tuple);
    });
    const victims = pending.admit(source, raw, limits.maxPending, limits.maxPendingPerSource);
    for (const v of victims) v.destroy();
    if (victims.length > 0) {
      dropped.pending += victims.length;
      report();
    }
  });

  server.on('secureConnection', (socket: TLSSocket) => {
    const tuple = tupleOf(socket);
    const entry = pendingByTuple.get(tuple);
    if (entry) {
      pending.delete(entry.source, entry.raw);
      pendingByTuple.delete(tuple);
    }
    if (socket.destroyed) return; // no 'close' would come to untrack it
    const peer = getPeer(socket, o.cluster);
    if (peer) {
      const key = spiffeUri(peer.identity);
      const n = perIdentity.get(key) ?? 0;
      if (n >= limits.maxPerIdentity) {
        // The newcomer goes: an identity's established connections (its channel) stay up.
        dropped.identity++;
        report();
        socket.destroy();
        return;
      }
      perIdentity.set(key, n + 1);
      verified++;
      socket.once('close', () => {
        verified--;
        const left = (perIdentity.get(key) ?? 1) - 1;
        if (left <= 0) perIdentity.delete(key);
        else perIdentity.set(key, left);
      });
      return;
    }
    const source = entry?.source ?? sourceOf(socket.remoteAddress);
    const expiry = setTimeout(() => {
      dropped.anonymousExpired++;
      socket.destroy();
    }, limits.anonymousLifetimeMs);
    expiry.unref();
    socket.once('close', () => {
      clearTimeout(expiry);
      anonymous.delete(source, socket);
    });
    const victims = anonymous.admit(source, socket, limits.maxAnonymous, limits.maxAnonymousPerSource);
    for (const v of victims) v.destroy();
    if (victims.length > 0) {
      dropped.anonymous += victims.length;
      report();
    }
  });

  return {
    stats: () => ({ pending: pending.size, anonymous: anonymous.size, verified, dropped: { ...dropped } }),
  };
}
