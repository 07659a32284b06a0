// Route tests without TLS: buildControllerApp with a test-only peer resolver, driven by app.inject() and injectWS().
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildControllerApp, type ControllerApp, type ControllerDeps } from '../../controller/index.js';
import { openSqliteStore, type Store } from '../../controller/store/index.js';
import type { PeerResolver } from '../../shared/http.js';
import { parseSpiffeUri, type Role } from '../../shared/identity.js';
import { silentLogger } from '../../shared/logger.js';
import { mintIdentity, tempDir, testCa } from '../helpers/pki.js';

/** The header the test resolver reads: `<role>/<name>` or `<role>/<name>;<serial>`. Only tests resolve it. */
export const TEST_PEER_HEADER = 'x-swarm-test-peer';

/** The serial a test peer presents unless told otherwise: stable per identity, lowercase hex like a real one. */
export function testSerial(role: Role, name: string): string {
  return createHash('sha256').update(`${role}/${name}`).digest('hex').slice(0, 32);
}

/**
 * The caller named by TEST_PEER_HEADER, as if its certificate had been verified. Lives in test/ only and
 * reaches the app through the resolvePeer dependency: no server build can resolve it.
 */
export function headerPeerResolver(cluster: string): PeerResolver {
  return (req) => {
    const value = req.headers[TEST_PEER_HEADER];
    if (typeof value !== 'string') return undefined;
    const [who = '', serial] = value.split(';');
    const identity = parseSpiffeUri(`spiffe://${cluster}/${who}`);
    return identity ? { identity, serial: serial ?? testSerial(identity.role, identity.name) } : undefined;
  };
}

/** Headers that make a request come from this identity. */
export function as(role: Role, name: string, serial?: string): Record<string, string> {
  return { [TEST_PEER_HEADER]: serial === undefined ? `${role}/${name}` : `${role}/${name};${serial}` };
}

export interface InjectController extends ControllerApp {
  store: Store;
  close(): Promise<void>;
}

/** buildControllerApp over the test CA and a SQLite file in a temp dir, resolving callers from the test header; never listens. */
export async function buildInjectController(deps: Partial<ControllerDeps> = {}): Promise<InjectController> {
  const dir = await tempDir('swarm-ctl-inject-');
  const ca = await testCa('test');
  const controller = await mintIdentity('controller', 'controller', { sans: ['127.0.0.1'] });
  const store = deps.store ?? openSqliteStore(join(dir.path, 'swarm.db'));
  const built = await buildControllerApp({ material: controller.material, ca, store, logger: silentLogger(), resolvePeer: headerPeerResolver(ca.cluster), ...deps });
  await built.app.ready();
  return {
    ...built,
    store,
    async close() {
      await built.app.close();
      await store.close();
      await dir.cleanup();
    },
  };
}

/**
 * Send an upgrade request through the app as the server would, and return the raw HTTP answer (status line,
 * headers, body; for an accepted upgrade the 101 and its headers, then the socket is dropped). injectWS only
 * reports the status of a refusal; this shows what the client reads.
 */
export async function rawUpgrade(app: FastifyInstance, path: string, headers: Record<string, string>): Promise<{ status: number; headers: string; body: string }> {
  const toClient = new PassThrough();
  const toServer = new PassThrough();
  let text = '';
  const socket = Duplex.from({ readable: toServer, writable: toClient });
  const done = new Promise<void>((resolve) => {
    toClient.on('data', (d: Buffer) => {
      text += d.toString();
      // An accepted upgrade stays open: its answer is complete with the headers.
      if (text.startsWith('HTTP/1.1 101') && text.includes('\r\n\r\n')) {
        resolve();
        socket.destroy();
      }
    });
    socket.once('close', () => resolve());
    toClient.once('finish', () => resolve());
  });
  const req = Object.assign(new PassThrough(), {
    method: 'GET',
    url: path,
    httpVersion: '1.1',
    headers: { host: 'localhost', connection: 'upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers },
  });
  app.server.emit('upgrade', req, socket, Buffer.alloc(0));
  await done;
  const [head = '', body = ''] = text.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? NaN), headers: head, body };
}
