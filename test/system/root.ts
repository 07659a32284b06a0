// The system test's Debian root: built once with debootstrap (+ polkitd) into a cache directory, copied per container.
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runHost } from './container.js';

/** Bump when the package list changes: a root without this marker is rebuilt. */
const ROOT_MARKER = '.swarm-system-test-root-v1';
/** What the root has besides minbase: systemd as PID 1, D-Bus and logind (polkit needs them), and the tools the checks use. */
const INCLUDE = ['systemd', 'systemd-sysv', 'dbus', 'libpam-systemd', 'ca-certificates', 'procps', 'libcap2-bin', 'util-linux'];
/** debootstrap's --include cannot add polkitd (its postinst needs a logind provider configured): installed afterwards in a chroot. */
const AFTER = ['polkitd'];
const SUITE = 'bookworm';
const MIRROR = process.env.SWARM_SYSTEM_TEST_MIRROR ?? 'http://deb.debian.org/debian';

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/** The host tools the test needs, installed with apt-get when missing (the test runs as root on Debian). */
export async function ensureHostTools(say: (line: string) => void): Promise<void> {
  const missing: string[] = [];
  for (const [tool, pkg] of [['debootstrap', 'debootstrap'], ['systemd-nspawn', 'systemd-container'], ['nsenter', 'util-linux']] as const) {
    const r = await runHost('sh', ['-c', `command -v ${tool}`]);
    if (r.code !== 0) missing.push(pkg);
  }
  if (missing.length === 0) return;
  say(`installing host packages: ${missing.join(' ')}`);
  const r = await runHost('apt-get', ['install', '-y', '-q', ...missing], { timeoutMs: 600_000, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.code !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed: ${r.stderr.trim().split('\n').pop() ?? ''}`);
}

/** `<cache>/bookworm`, built when absent (about 4 minutes, 250 MB), reused when present. */
export async function ensureBaseRoot(cache: string, say: (line: string) => void): Promise<string> {
  const root = join(cache, SUITE);
  if (await exists(join(root, ROOT_MARKER))) return root;
  await mkdir(cache, { recursive: true });
  const tmp = `${root}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await rm(root, { recursive: true, force: true });
  say(`building the Debian ${SUITE} root in ${root} (debootstrap, a few minutes)`);
  const boot = await runHost('debootstrap', ['--variant=minbase', `--include=${INCLUDE.join(',')}`, SUITE, tmp, MIRROR], { timeoutMs: 20 * 60_000 });
  if (boot.code !== 0) throw new Error(`debootstrap failed (exit ${boot.code}): ${boot.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const apt = await runHost('chroot', [tmp, 'apt-get', 'install', '-y', '-q', ...AFTER], { timeoutMs: 10 * 60_000, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  if (apt.code !== 0) throw new Error(`chroot apt-get install ${AFTER.join(' ')} failed: ${apt.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  await runHost('chroot', [tmp, 'apt-get', 'clean']);
  // No login prompt on the console, no daily apt jobs firing during a run.
  for (const unit of ['console-getty.service', 'apt-daily.timer', 'apt-daily-upgrade.timer', 'e2scrub_all.timer', 'dpkg-db-backup.timer']) {
    await runHost('chroot', [tmp, 'systemctl', 'mask', unit]);
  }
  await writeFile(join(tmp, ROOT_MARKER), `${INCLUDE.concat(AFTER).join(' ')}\n`);
  await rename(tmp, root);
  return root;
}

/** A writable copy of the base root for one container (reflinked where the filesystem can). */
export async function copyRoot(base: string, dest: string): Promise<void> {
  await rm(dest, { recursive: true, force: true });
  const r = await runHost('cp', ['-a', '--reflink=auto', base, dest], { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`cp -a ${base} ${dest} failed: ${r.stderr.trim()}`);
}
