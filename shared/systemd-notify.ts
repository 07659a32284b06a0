// systemd readiness, status, watchdog and stopping messages for Type=notify units (agent, updater and controller), sent in order by the `systemd-notify` binary.
import { execFile } from 'node:child_process';
import { z } from 'zod';
import { systemClock, type Clock } from './clock.js';
import type { Logger } from './logger.js';

/**
 * Runs `systemd-notify ARGS...`. Why our own and not the `systemd-notify` npm package: the package only knows
 * --ready/--status/--pid/--booted (no WATCHDOG=1, no STOPPING=1), starts one unbounded child per call with no
 * ordering between them, and rejects with bare strings. Node has no unix datagram sockets, so talking to
 * NOTIFY_SOCKET directly would need a native module; the binary it is.
 */
export type NotifyRunner = (args: readonly string[]) => Promise<void>;

export function execNotifyRunner(env: NodeJS.ProcessEnv = process.env, timeoutMs = 5_000): NotifyRunner {
  return (args) =>
    new Promise((resolve, reject) => {
      execFile('systemd-notify', [...args], { env, timeout: timeoutMs, shell: false, maxBuffer: 64 * 1024 }, (err, _out, stderr) => {
        if (err) reject(new Error(`systemd-notify ${args.join(' ')} failed: ${String(stderr).trim() || err.message}`));
        else resolve();
      });
    });
}

export interface Notifier {
  /** True when NOTIFY_SOCKET is set (running under a Type=notify unit). */
  readonly enabled: boolean;
  ready(status: string): void;
  status(status: string): void;
  stopping(status: string): void;
  /** Start WATCHDOG=1 pings at half of WATCHDOG_USEC, when systemd asked for them. Returns the interval (ms) or null. */
  startWatchdog(): number | null;
  /** Stop pinging and wait for queued messages (bounded by the runner's timeout). */
  close(): Promise<void>;
}

export interface NotifierDeps {
  env?: NodeJS.ProcessEnv;
  pid?: number;
  runner?: NotifyRunner;
  logger: Logger;
  clock?: Clock;
}

const WatchdogUsecSchema = z.coerce.number().int().min(1000).max(2 ** 48);
const MAX_QUEUE = 32;

/** STATUS= values are one line; systemd shows them in `systemctl status`. */
function statusLine(s: string): string {
  return `STATUS=${s.replace(/[\r\n]+/g, ' ').slice(0, 200)}`;
}

export function createSystemdNotifier(deps: NotifierDeps): Notifier {
  const env = deps.env ?? process.env;
  const pid = deps.pid ?? process.pid;
  const clock = deps.clock ?? systemClock;
  const runner = deps.runner ?? execNotifyRunner(env);
  const enabled = typeof env.NOTIFY_SOCKET === 'string' && env.NOTIFY_SOCKET.length > 0;
  const queue: string[][] = [];
  let draining: Promise<void> | undefined;
  let closed = false;
  let watchdogTimer: NodeJS.Timeout | undefined;

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const message = queue.shift()!;
      try {
        await runner([`--pid=${pid}`, ...message]);
      } catch (err) {
        deps.logger.warn({ err, message }, 'systemd notification failed');
      }
    }
    draining = undefined;
  }

  function send(message: string[]): void {
    if (!enabled || closed) return;
    if (queue.length >= MAX_QUEUE) {
      // keep READY/STOPPING; the oldest STATUS or WATCHDOG can go (a newer one follows)
      const idx = queue.findIndex((m) => !m.includes('READY=1') && !m.includes('STOPPING=1'));
      queue.splice(idx === -1 ? 0 : idx, 1);
    }
    queue.push(message);
    draining ??= drain();
  }

  function schedulePing(intervalMs: number): void {
    watchdogTimer = clock.setTimeout(() => {
      if (closed) return;
      if (!queue.some((m) => m.includes('WATCHDOG=1'))) send(['WATCHDOG=1']);
      schedulePing(intervalMs);
    }, intervalMs);
  }

  return {
    enabled,
    ready: (status) => send(['READY=1', statusLine(status)]),
    status: (status) => send([statusLine(status)]),
    stopping: (status) => send(['STOPPING=1', statusLine(status)]),
    startWatchdog: () => {
      if (!enabled || closed || watchdogTimer !== undefined || env.WATCHDOG_USEC === undefined) return null;
      if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== String(pid)) return null; // meant for another process
      const r = WatchdogUsecSchema.safeParse(env.WATCHDOG_USEC);
      if (!r.success) {
        deps.logger.warn({ value: env.WATCHDOG_USEC }, 'WATCHDOG_USEC is not a valid number of microseconds; not pinging');
        return null;
      }
      const intervalMs = Math.max(1, Math.floor(r.data / 2000));
      send(['WATCHDOG=1']);
      schedulePing(intervalMs);
      return intervalMs;
    },
    close: async () => {
      closed = true;
      if (watchdogTimer !== undefined) clock.clearTimeout(watchdogTimer);
      await draining;
    },
  };
}
