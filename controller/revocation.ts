// Revocation at run time: the denylist of revoked serials and the live TLS sockets of each serial.
import type { TLSSocket } from 'node:tls';

/** Serials refused at every handshake, request and upgrade (lowercase hex). */
export class Denylist {
  readonly #serials = new Set<string>();

  constructor(serials: Iterable<string> = []) {
    for (const s of serials) this.#serials.add(s.toLowerCase());
  }

  add(serials: Iterable<string>): void {
    for (const s of serials) this.#serials.add(s.toLowerCase());
  }

  has(serial: string): boolean {
    return this.#serials.has(serial.toLowerCase());
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
