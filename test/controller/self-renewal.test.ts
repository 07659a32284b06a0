// The running controller renews its own certificate when a third of its life is left, without a restart.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import pino from 'pino';
import { initStateDir, serveController } from '../../controller/index.js';
import { CONTROLLER_LIFETIME_MS, issueOperatorLocally } from '../../controller/state-dir.js';
import { checkServerIdentity, loadTlsMaterial, type TlsMaterial } from '../../shared/tls.js';
import { tempDir } from '../helpers/pki.js';
import { call, clientFor } from './helpers.js';

/** A verified mutual-TLS connection to the controller (as an operator). */
async function dial(url: string, operator: TlsMaterial): Promise<TLSSocket> {
  const { port } = new URL(url);
  const socket = connect({
    host: '127.0.0.1', port: Number(port), ca: operator.ca, cert: operator.cert, key: operator.key,
    checkServerIdentity: (_h, cert) => checkServerIdentity(cert, 'test', { role: 'controller' }),
  });
  await once(socket, 'secureConnect');
  return socket;
}

/** GET /healthz over an already open connection; resolves with the status line. */
async function healthOver(socket: TLSSocket): Promise<string> {
  socket.write('GET /healthz HTTP/1.1\r\nHost: controller\r\n\r\n');
  const [data] = (await once(socket, 'data')) as [Buffer];
  return data.toString().split('\r\n')[0]!;
}

describe('controller self-renewal while running (time seam)', () => {
  it('renews its certificate on the periodic check: new handshakes get the new one, open connections keep working', async () => {
    const dir = await tempDir('swarm-selfrenew-');
    const stateDir = join(dir.path, 's');
    // Issued two thirds of its lifetime less 2 minutes ago: just over a third left, so not due at start.
    await initStateDir({ stateDir, cluster: 'test', sans: ['127.0.0.1'], now: Date.now() - (2 * CONTROLLER_LIFETIME_MS) / 3 + 2 * 60_000 });
    let offset = 0;
    let logs = '';
    let onRenewed: () => void = () => undefined;
    const renewed = new Promise<void>((resolve) => (onRenewed = resolve));
    const logger = pino({ level: 'info' }, new Writable({
      write(chunk: Buffer, _enc, done) {
        logs += chunk.toString();
        if (/"msg":"renewed the controller certificate"/.test(chunk.toString())) onRenewed();
        done();
      },
    }));
    let stop: () => void = () => undefined;
    let listening: (url: string) => void = () => undefined;
    const urlP = new Promise<string>((resolve) => (listening = resolve));
    const served = serveController({
      stateDir, host: '127.0.0.1', port: 0, logger, onListening: listening,
      until: new Promise<void>((resolve) => (stop = resolve)), now: () => Date.now() + offset, renewCheckMs: 50,
    });
    // The init-time admin may have expired (the state is days old): issue a current operator.
    await issueOperatorLocally({ stateDir, name: 'ops', outDir: join(dir.path, 'ops') });
    const admin = await loadTlsMaterial(join(dir.path, 'ops'), 'operator', 'test');
    const d = clientFor(admin.ca, admin);
    let old: TLSSocket | undefined;
    try {
      const url = await Promise.race([urlP, served.then(() => Promise.reject(new Error(`serve ended: ${logs}`)))]);
      old = await dial(url, admin);
      const before = old.getPeerCertificate().serialNumber.toLowerCase();
      assert.doesNotMatch(logs, /renewed the controller certificate/, 'not due at start');

      // Three minutes on (still inside the 5-minute notBefore backdating, so real clients accept the new one).
      offset = 3 * 60_000;
      await Promise.race([renewed, new Promise((_r, reject) => setTimeout(() => reject(new Error(`no renewal in 10 s: ${logs}`)), 10_000))]);

      const onDisk = await loadTlsMaterial(join(stateDir, 'pki'), 'controller', 'test');
      assert.notEqual(onDisk.serial, before);
      const fresh = await dial(url, admin);
      assert.equal(fresh.getPeerCertificate().serialNumber.toLowerCase(), onDisk.serial, 'new handshakes get the renewed certificate');
      fresh.destroy();
      assert.equal(await healthOver(old), 'HTTP/1.1 200 OK', 'a connection opened before the renewal still works');
      assert.equal((await call(d, `${url}/v1/status`)).status, 200, 'operators trust the renewed controller');
    } finally {
      old?.destroy();
      await d.close();
      stop();
      await served.catch(() => undefined);
      await dir.cleanup();
    }
  });
});
