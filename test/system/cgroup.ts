// One cgroup v2 subtree per container. Without a systemd on the host, nspawn runs the container's systemd in the
// cgroup it was started in: three containers started from one process would share one `payload/` tree, so each
// container's systemd would see (and kill, and remove) the other containers' `swarm-agent.service` cgroup.
import { access, mkdir, readdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runHost } from './container.js';

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/** Where cgroup v2 is mounted on the host; mounted at `fallback` when it is nowhere yet. */
export async function cgroup2Root(fallback: string): Promise<string> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  const found = mounts.split('\n').map((l) => l.split(' ')).find((f) => f[2] === 'cgroup2')?.[1];
  if (found) return found;
  await mkdir(fallback, { recursive: true });
  const r = await runHost('mount', ['-t', 'cgroup2', 'none', fallback]);
  if (r.code !== 0) throw new Error(`cannot mount cgroup2 at ${fallback}: ${r.stderr.trim()}`);
  return fallback;
}

/** The argv that starts `argv` inside its own new cgroup `dir` (created here), or inside a systemd scope. */
export async function inOwnCgroup(dir: string | undefined, argv: string[]): Promise<string[]> {
  if (dir === undefined) return ['systemd-run', '--scope', '--quiet', '--collect', '--', ...argv];
  await mkdir(dir, { recursive: true });
  return ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir, ...argv];
}

/** The host runs systemd: give each container a transient scope instead of a hand-made cgroup. */
export async function hostHasSystemd(): Promise<boolean> {
  return exists('/run/systemd/system');
}

/** Remove a cgroup subtree once its processes are gone (depth first; best effort, bounded). */
export async function removeCgroup(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await removeCgroup(join(dir, e.name));
  for (let i = 0; i < 20; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
