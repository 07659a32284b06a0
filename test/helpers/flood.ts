// Hostile connection floods for tests: silent TCP sockets, half-sent ClientHellos, TLS without a certificate plus half a request.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export type FloodKind = 'silent' | 'partial-hello' | 'partial-request';

export interface Flood {
  readonly sockets: Socket[];
  /** Resolves when every socket connected (and, for TLS, finished its handshake) or was closed. */
  readonly settled: Promise<void>;
  /** Resolves when every socket has closed (bounded by timeoutMs; rejects with how many are still open). */
  allClosed(timeoutMs: number): Promise<void>;
  /** How many have closed so far. */
  closedCount(): number;
  destroy(): void;
}

/** The first 64 bytes of a TLS record that announces a 512-byte ClientHello and never sends the rest. */
const PARTIAL_CLIENT_HELLO = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), Buffer.alloc(53, 0x2a)]);

/** Headers that never end: the server waits for the blank line. */
const PARTIAL_REQUEST = 'POST /v1/enroll HTTP/1.1\r\nHost: controller\r\nContent-Type: application/json\r\nContent-Length: 4096\r\nX-Slow: ';

/** Open `count` hostile sockets of one kind to 127.0.0.1:port, from `localAddress` when given (another source). */
export function openFlood(port: number, kind: FloodKind, count: number, localAddress?: string): Flood {
  const sockets: Socket[] = [];
  const settles: Promise<void>[] = [];
  let closed = 0;
  const closeWaiters: Array<() => void> = [];
  for (let i = 0; i < count; i++) {
    const socket: Socket = kind === 'partial-request'
      ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(localAddress ? { localAddress } : {}) })
      : netConnect({ host: '127.0.0.1', port, ...(localAddress ? { localAddress } : {}) });
    socket.on('error', () => undefined); // resets are the expected end
    socket.resume(); // a server's last words (408) must be read, or 'close' never comes
    socket.once('close', () => {
      closed++;
      for (const w of closeWaiters.splice(0)) w();
    });
    settles.push(new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      if (kind === 'partial-request') {
        socket.once('secureConnect', () => socket.write(PARTIAL_REQUEST, () => resolve()));
      } else {
        socket.once('connect', () => {
          if (kind === 'silent') resolve();
          else socket.write(PARTIAL_CLIENT_HELLO, () => resolve());
        });
      }
    }));
    sockets.push(socket);
  }
  return {
    sockets,
    settled: Promise.all(settles).then(() => undefined),
    closedCount: () => closed,
    allClosed(timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${count - closed} of ${count} ${kind} sockets still open after ${timeoutMs} ms`)), timeoutMs);
        const check = (): void => {
          if (closed >= count) {
            clearTimeout(timer);
            resolve();
          } else {
            closeWaiters.push(check);
          }
        };
        check();
      });
    },
    destroy() {
      for (const s of sockets) s.destroy();
    },
  };
}
