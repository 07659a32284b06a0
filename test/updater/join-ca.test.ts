// fetchPinnedCa on its own: the CA is fetched only over TLS, whoever calls it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchPinnedCa } from '../../updater/join-ca.js';

describe('updater/join-ca: fetchPinnedCa', () => {
  it('refuses a plain http:// controller before sending anything (SWARM_ERR_CONTROLLER_UNTRUSTED)', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      await assert.rejects(
        fetchPinnedCa({ controllerUrl: `http://127.0.0.1:${port}`, caHash: `sha256:${'0'.repeat(64)}` }),
        (err: NodeJS.ErrnoException) => err.code === 'SWARM_ERR_CONTROLLER_UNTRUSTED',
      );
      assert.deepEqual(seen, [], 'no request went out in clear');
    } finally {
      server.close();
    }
  });
});
