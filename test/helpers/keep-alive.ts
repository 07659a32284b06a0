// One live keep-alive HTTPS connection with a client identity: requests on the same socket, and its close awaited.
import { once } from 'node:events';
import { connect, type TLSSocket } from 'node:tls';
import type { TestIdentity } from './pki.js';

export interface KeepAlive {
  socket: TLSSocket;
  /** GET on this same connection; resolves with the status and the JSON body. */
  get(path: string): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Resolves when the server (or anything) closes the connection. */
  closed: Promise<void>;
  destroy(): void;
}

/** Open a mutual-TLS connection to 127.0.0.1:port presenting `id` (the server's identity is not what these tests check). */
export async function openKeepAlive(port: number, id: TestIdentity): Promise<KeepAlive> {
  const socket = connect({ host: '127.0.0.1', port, ca: id.ca, cert: id.cert, key: id.key, checkServerIdentity: () => undefined });
  const closed = once(socket, 'close').then(() => undefined);
  socket.on('error', () => undefined); // a reset is one way the server closes it
  await once(socket, 'secureConnect');
  let buffer = Buffer.alloc(0);
  let waiter: (() => void) | undefined;
  socket.on('data', (d: Buffer) => {
    buffer = Buffer.concat([buffer, d]);
    waiter?.();
  });
  socket.on('close', () => waiter?.());

  async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`);
    for (let i = 0; i < 1000; i++) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = buffer.subarray(0, end).toString('latin1');
        const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? '0');
        if (buffer.length >= end + 4 + length) {
          const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
          buffer = buffer.subarray(end + 4 + length);
          return { status: Number(head.split(' ')[1]), body: body ? (JSON.parse(body) as Record<string, unknown>) : {} };
        }
      }
      if (socket.destroyed) throw new Error('connection closed before the answer');
      await new Promise<void>((resolve) => {
        waiter = resolve;
      });
      waiter = undefined;
    }
    throw new Error('no complete answer');
  }

  return { socket, get, closed, destroy: () => socket.destroy() };
}

/** Await a promise, or fail after ms (a bound, not a wait: the event decides). */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_r, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    })]);
  } finally {
    clearTimeout(timer);
  }
}
