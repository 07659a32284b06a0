// The controller as deployed (shared/defaults.ts CONTROLLER_RUNTIME: node --openssl-config=controller/openssl.cnf)
// issues no TLS session tickets: no Swarm client resumes, a resumed session would skip the certificate and CRL checks,
// and the two tickets OpenSSL sends by default cost a tenth of its CPU or more while a fleet reconnected (bench -- channels).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { connect, createServer, type ConnectionOptions } from 'node:tls';
import { loadTlsMaterial, type TlsMaterial } from '../../shared/tls.js';
import { startControllerProcess } from './helpers.js';

/** Session tickets a TLS 1.3 client is given over one request (`GET /healthz`) to 127.0.0.1:port. */
async function ticketsGiven(port: number, material: TlsMaterial): Promise<number> {
  const options: ConnectionOptions = { host: '127.0.0.1', port, ca: material.ca, cert: material.cert, key: material.key, minVersion: 'TLSv1.3', checkServerIdentity: () => undefined };
  const socket = connect(options);
  let tickets = 0;
  socket.on('session', () => tickets++);
  await once(socket, 'secureConnect');
  socket.end('GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n');
  socket.resume();
  // Tickets come right after the handshake, ahead of the answer: once the server has closed, all were read.
  await once(socket, 'close');
  return tickets;
}

describe('controller TLS: no session tickets as deployed', function () {
  this.timeout(60_000);

  it('serve started as its unit starts it gives a client no ticket; a TLS server with Node\'s defaults gives two', async () => {
    const ctl = await startControllerProcess();
    try {
      const admin = await loadTlsMaterial(ctl.adminDir, 'operator');
      assert.equal(await ticketsGiven(Number(new URL(ctl.url).port), admin), 0);
      // The same probe against Node's defaults, with the controller's own certificate: it does see tickets.
      const pki = join(ctl.stateDir, 'pki');
      const own = await loadTlsMaterial(pki, 'controller');
      const plain = createServer({ key: own.key, cert: own.cert, ca: own.ca, requestCert: true }, (s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
      plain.listen(0, '127.0.0.1');
      await once(plain, 'listening');
      try {
        assert.equal(await ticketsGiven((plain.address() as { port: number }).port, admin), 2);
      } finally {
        plain.close();
      }
    } finally {
      await ctl.cleanup();
    }
  });
});
