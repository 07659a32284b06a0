// Tiny test agents made in the tests: agent.mjs (node:https + the agent cert) and a behaviour switch per release.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRelease } from '../../../shared/release/index.js';
import { writeReleaseTree } from '../../helpers/releases.js';

/**
 * good | exit at start | never listen | report another id | report failing | die inside the watch window: it
 * answers its first health request healthy (the probe succeeds with it) and exits when the next one comes, which
 * only the watch window sends. No timer: on any runner, it dies after the probe and inside the window.
 */
export type AgentBehaviour =
  | { mode: 'good' }
  | { mode: 'exit' }
  | { mode: 'no-listen' }
  | { mode: 'other-id' }
  | { mode: 'failing' }
  | { mode: 'die-when-watched' };

/** The agent: reads its release id from .swarm-release.json in its cwd, serves /v1/health over mTLS. */
export const AGENT_SCRIPT = `
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';
const pki = process.env.SWARM_PKI_DIR;
const listen = process.env.SWARM_AGENT_LISTEN ?? '127.0.0.1:8765';
const i = listen.lastIndexOf(':');
const host = listen.slice(0, i), port = Number(listen.slice(i + 1));
const sidecar = JSON.parse(fs.readFileSync(path.join(process.cwd(), '.swarm-release.json'), 'utf8'));
const b = JSON.parse(fs.readFileSync(path.join(process.cwd(), 'behaviour.json'), 'utf8'));
const startedAt = new Date().toISOString();
if (b.mode === 'exit') process.exit(3);
let server;
let answered = 0;
if (b.mode === 'no-listen') {
  setInterval(() => {}, 1000);
} else {
  server = https.createServer({
    ca: fs.readFileSync(path.join(pki, 'ca.crt')), cert: fs.readFileSync(path.join(pki, 'agent.crt')), key: fs.readFileSync(path.join(pki, 'agent.key')),
    requestCert: true, rejectUnauthorized: true,
  }, (req, res) => {
    if (b.mode === 'die-when-watched' && ++answered > 1) process.exit(4);
    const body = { status: b.mode === 'failing' ? 'failing' : 'ok', release: b.mode === 'other-id' ? '0'.repeat(64) : sidecar.id,
      version: sidecar.version, pid: process.pid, startedAt, services: [] };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  server.listen(port, host);
}
process.on('SIGTERM', () => { if (server) server.close(); server?.closeAllConnections?.(); process.exit(0); });
`;

/** The entrypoint: a shell script that execs this very node on agent.mjs. */
export function entrypointScript(): string {
  return `#!/bin/sh\nexec "${process.execPath}" "$(dirname "$0")/../agent.mjs" "$@"\n`;
}

export interface BuiltRelease {
  tarball: Buffer;
  id: string;
  version: string;
  dirName: string;
}

/** Build an agent release tarball with the given behaviour (a fresh source dir under the OS temp dir). */
export async function buildAgentRelease(version: string, behaviour: AgentBehaviour = { mode: 'good' }, extra: Record<string, string | Buffer> = {}): Promise<BuiltRelease> {
  const dir = await mkdtemp(join(tmpdir(), 'swarm-agent-src-'));
  await writeReleaseTree(dir, {
    version,
    entrypointScript: entrypointScript(),
    extra: { 'agent.mjs': AGENT_SCRIPT, 'behaviour.json': JSON.stringify(behaviour), ...extra },
  });
  const { tarball, id } = await buildRelease(dir, {});
  await rm(dir, { recursive: true, force: true });
  return { tarball, id, version, dirName: `${version}-${id.slice(0, 12)}` };
}

/** An updater release: bin/swarm-updater runs this build's updater (healthy), exits at once, or hangs without serving. */
export async function buildUpdaterRelease(version: string, kind: 'good' | 'exit' | 'hang', updaterMain: string): Promise<BuiltRelease> {
  const dir = await mkdtemp(join(tmpdir(), 'swarm-updater-src-'));
  const script = kind === 'good'
    ? `#!/bin/sh\nexec "${process.execPath}" "${updaterMain}" "$@"\n`
    : kind === 'exit' ? '#!/bin/sh\necho "broken updater" >&2\nexit 1\n' : '#!/bin/sh\nexec sleep 600\n';
  await writeReleaseTree(dir, { name: 'swarm-updater', version, manifest: { entrypoint: ['bin/swarm-updater'] }, extra: { 'bin/swarm-updater': script } });
  await chmod(join(dir, 'bin', 'swarm-updater'), 0o755);
  const { tarball, id } = await buildRelease(dir, {});
  await rm(dir, { recursive: true, force: true });
  return { tarball, id, version, dirName: `${version}-${id.slice(0, 12)}` };
}
