// Facts about processes on this host, read from /proc.
import { readFileSync } from 'node:fs';

/** Alive and not a zombie (an orphan's zombie lingers when init does not reap it, and a signal 0 still succeeds). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
