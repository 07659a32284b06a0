// Revocation at run time, for every server (controller, updater, agent): the denylist of revoked serials
// and the live TLS sockets of each client serial, so a revocation refuses new requests and cuts live ones.
import type { Server } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { getPeer } from './tls.js';

/** Serials refused at every handshake, request and upgrade (lowercase hex). */
export class Denylist {
  readonly #serials = new Set<string>();

  constructor(serials: Iterable<string> = []) {
    for (const s of serials) this.#serials.add(s.toLowerCase());
  }

  /** Add serials; returns the ones that were not refused before (what is news to pass on). */
  add(serials: Iterable<string>): string[] {
    const added: string[] = [];
    for (const s of serials) {
      const serial = s.toLowerCase();
      if (this.#serials.has(serial)) continue;
      this.#serials.add(serial);
      added.push(serial);
    }
    return added;
  }

  has(serial: string): boolean {
    return this.#serials.has(serial.toLowerCase());
  }

  /** Every serial, in the order they were added. */
  list(): string[] {
    return [...this.#serials];
  }

  get size(): number {
    return this.#serials.size;
  }
}

/** Live sockets per client-certificate serial, so revoking a serial can cut its connections at once. */
export class SocketRegistry {
  readonly #bySerial = new Map<string, Set<TLSSocket>>();

  track(serial: string, socket: TLSSocket): void {
    let set = this.#bySerial.get(serial);
    if (!set) {
      set = new Set();
      this.#bySerial.set(serial, set);
    }
    set.add(socket);
    socket.once('close', () => {
      set.delete(socket);
      if (set.size === 0 && this.#bySerial.get(serial) === set) this.#bySerial.delete(serial);
    });
  }

  /** Destroy every live socket of these serials; returns how many were cut. */
  destroy(serials: Iterable<string>): number {
    let n = 0;
    for (const serial of serials) {
      for (const socket of this.#bySerial.get(serial) ?? []) {
        socket.destroy();
        n++;
      }
    }
    return n;
  }
}

/**
 * Track every verified client socket of a TLS server by its serial. A client whose serial is already revoked
 * is still let through to the request, which answers 403 SWARM_ERR_AUTH_REVOKED: a clear error, not a reset.
 */
export function trackClientSockets(server: Server, cluster: string, registry: SocketRegistry): void {
  server.on('secureConnection', (socket: TLSSocket) => {
    const peer = getPeer(socket, cluster);
    if (peer) registry.track(peer.serial, socket);
  });
}
