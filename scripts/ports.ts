// A loopback port for a server that cannot start on port 0 (the agent: the updater probes the port it was given); shared by the tests and the demo.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The kernel's range for automatic source ports (outgoing connections, listen on 0); Linux default 32768-60999. */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi && lo > 1024) return [lo, hi];
  } catch {
    // not Linux: the IANA dynamic range
  }
  return [49152, 65535];
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * Mocha's parallel workers (MOCHA_WORKER_ID) each pick from their own eighth of the range: the never-twice rule
 * below holds within one process, and a port one worker handed out but has not bound yet is bindable to another.
 */
function workerSlice(from: number, to: number): [number, number] {
  const id = Number(process.env.MOCHA_WORKER_ID);
  if (!Number.isInteger(id) || id < 0) return [from, to];
  const size = Math.floor((to - from) / 8);
  const start = from + (id % 8) * size;
  return [start, start + size];
}

/** Every port this process handed out: never handed out twice. */
const handedOut = new Set<number>();

/**
 * A free port on 127.0.0.1 below the ephemeral range. A port taken with listen(0) and closed comes from that
 * range, so any outgoing connection on the machine could be given it before the test's server binds it; below
 * the range only a server asking for that very port can, and picks are random over ~10,000 ports.
 */
export async function freePort(): Promise<number> {
  const [lo] = ephemeralRange();
  const [from, to] = workerSlice(Math.max(1025, lo - 12_000), lo);
  for (let i = 0; i < 50; i++) {
    const port = from + Math.floor(Math.random() * (to - from));
    // A port handed out before may not be bound yet (an agent binds its port only once a release is installed):
    // bindable still, but taken. Without this, a 40-host fleet picked the same port twice about one run in four.
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${from}-${to - 1} after 50 tries`);
}
