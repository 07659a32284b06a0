// A real browser for the dashboard's tests and bench: Debian's chromium driven by playwright-core (never a
// downloaded browser), and `swarmctl dashboard --no-open` as a child process whose first line is its URL.
import { spawn, type ChildProcess } from 'node:child_process';
import { stopChild } from '../../shared/process-group.js';
import { chromium, type Browser } from 'playwright-core';
import { SWARMCTL_BIN } from '../controller/helpers.js';

export const CHROMIUM = '/usr/bin/chromium';
/** What STACK-NOTES.md says Debian's chromium needs here: headless as root, and no network of its own. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** playwright gives every launch a fresh temporary profile (user data dir), removed on close. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
}

export interface DashboardProcess {
  url: string;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

/** `swarmctl dashboard --no-open` with this controller and identity; resolves (bounded) with its first stdout line. */
export async function startDashboard(controller: string, identity: string): Promise<DashboardProcess> {
  const child = spawn(process.execPath, [SWARMCTL_BIN, 'dashboard', '--no-open'], {
    env: { ...process.env, SWARMCTL_CONTROLLER: controller, SWARMCTL_IDENTITY: identity, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`swarmctl dashboard printed no URL within 20 s: ${err}`));
    }, 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`swarmctl dashboard exited (${code}): ${err}`));
    });
  });
  return {
    url, child, stderr: () => err,
    stop: () => stopChild(child),
  };
}
