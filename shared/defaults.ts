// The defaults DESIGN.md pins (directories, ports, unit names): one place, so code, help texts and docs cannot drift apart.
import { fileURLToPath } from 'node:url';

/** Where the updater keeps releases, the active/prev links and its state (DESIGN.md §3). */
export const DEFAULT_INSTALL_DIR = '/opt/swarm';

/** A host's identities: ca.crt, agent.{crt,key}, updater.{crt,key} (DESIGN.md §3). */
export const DEFAULT_PKI_DIR = '/etc/swarm/pki';

/** Where the agent's unit reads SWARM_* settings from under systemd. */
export const AGENT_ENV_FILE = '/etc/swarm/agent.env';

/** Default ports of the three servers (DESIGN.md §1). */
export const DEFAULT_PORTS = Object.freeze({ agent: 8765, updater: 8766, controller: 8770 } as const);

/**
 * Default listen addresses: the agent only on loopback (its one caller besides the controller is the updater
 * of the same host), the updater and the controller on every address.
 */
export const DEFAULT_LISTEN = Object.freeze({
  agent: Object.freeze({ host: '127.0.0.1', port: DEFAULT_PORTS.agent }),
  updater: Object.freeze({ host: '0.0.0.0', port: DEFAULT_PORTS.updater }),
  controller: Object.freeze({ host: '0.0.0.0', port: DEFAULT_PORTS.controller }),
} as const);

/** `HOST:PORT` as flags and SWARM_AGENT_LISTEN spell it. */
export function formatListen(listen: { readonly host: string; readonly port: number }): string {
  return `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
}

/** The systemd units of deploy/systemd/ (the polkit rule names the agent's and the updater's). */
export const UNIT_NAMES = Object.freeze({
  agent: 'swarm-agent.service',
  updater: 'swarm-updater.service',
  controller: 'swarm-controller.service',
} as const);

/** swarmctl's controller when neither --controller nor SWARMCTL_CONTROLLER is given: one on this machine. */
export const DEFAULT_CONTROLLER_URL = `https://127.0.0.1:${DEFAULT_PORTS.controller}`;

/** The controller URL help texts and error messages show as an example. */
export const EXAMPLE_CONTROLLER_URL = `https://controller.example:${DEFAULT_PORTS.controller}`;

/**
 * The controller's OpenSSL settings (controller/openssl.cnf, copied next to its code by the build): its TLS servers
 * issue no session tickets. Installed, /usr/lib/swarm/current/dist/controller/openssl.cnf.
 */
export const CONTROLLER_OPENSSL_CONFIG = fileURLToPath(new URL('../controller/openssl.cnf', import.meta.url));

/**
 * How the controller's process is started, everywhere it is (its unit, its wrapper in deploy/bin, the tests' and
 * benchmarks' `serve`): its OpenSSL settings (no TLS session tickets: a tenth of its CPU or more while a fleet
 * reconnects after a restart, and a resumed session would skip the certificate and CRL checks), a young generation capped at
 * 4 MB semi-spaces (V8 grows it to 16 MB under a high allocation rate, the controller's memory with it), and glibc's
 * malloc returning freed memory above 128 KB (thousands of TLS connections opened and closed otherwise leave freed
 * memory mapped; capping malloc's arenas as well cost 25-35 MB at 5,000 channels, so it is not done). Measured in
 * docs/controller.md ("Scale", "Rollout benchmark"); a test checks deploy/ says the same.
 */
export const CONTROLLER_RUNTIME = Object.freeze({
  nodeFlags: Object.freeze([`--openssl-config=${CONTROLLER_OPENSSL_CONFIG}`, '--max-semi-space-size=4']),
  env: Object.freeze({ MALLOC_TRIM_THRESHOLD_: '131072', MALLOC_MMAP_THRESHOLD_: '131072' }),
});
