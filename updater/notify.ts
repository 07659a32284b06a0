// systemd notifications for a Type=notify unit with a watchdog: READY=1 once serving, WATCHDOG=1 pings, STOPPING=1.
import { execFile } from 'node:child_process';
import type { Logger } from 'pino';

export interface UpdaterNotifier {
  ready(status: string): void;
  stopping(): void;
  close(): void;
}

/**
 * Messages go through the `systemd-notify` binary (Node has no unix datagram sockets), one at a time, in order.
 * They name the unit's main process with --pid: the supervisor when we are its worker (so MAINPID stays the
 * supervisor), else ourselves; the unit needs NotifyAccess=all.
 */
export function createUpdaterNotifier(logger: Logger, env: NodeJS.ProcessEnv = process.env): UpdaterNotifier {
  const enabled = Boolean(env.NOTIFY_SOCKET);
  const mainPid = env.SWARM_UPDATER_SUPERVISED === '1' ? process.ppid : process.pid;
  let chain: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const send = (...message: string[]): void => {
    if (!enabled) return;
    chain = chain.then(() => new Promise<void>((resolve) => {
      execFile('systemd-notify', [`--pid=${mainPid}`, ...message], { env, timeout: 5_000 }, (err) => {
        if (err) logger.warn({ err, message }, 'systemd notification failed');
        resolve();
      });
    }));
  };
  return {
    ready(status) {
      send('--ready', `STATUS=${status.replace(/\s+/g, ' ').slice(0, 200)}`);
      const usec = Number(env.WATCHDOG_USEC);
      if (enabled && Number.isFinite(usec) && usec >= 1000) {
        timer = setInterval(() => send('WATCHDOG=1'), Math.max(500, Math.floor(usec / 2000)));
        timer.unref();
      }
    },
    stopping() {
      if (timer) clearInterval(timer);
      send('STOPPING=1');
    },
    close() {
      if (timer) clearInterval(timer);
    },
  };
}
