// A man in the middle of `swarm-updater join`: a fake controller (real HTTPS on loopback, its certificate from an attacker CA)
// serves the real CA with something added and relays enrollment to the real controller. The pin must stop it before the token leaves.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { CertificateAuthority, createCa, fingerprintOf } from '../../pki/index.js';
import { parseSingleCertificate } from '../../shared/pem.js';
import { joinCluster } from '../../updater/join.js';
import { mintIdentity, tempDir } from '../helpers/pki.js';
import { call, clientFor, startInProcessController, type InProcessController } from '../controller/helpers.js';

interface Fake {
  url: string;
  seen: string[];
  close(): Promise<void>;
}

/** What the fake answers to GET /v1/pki/ca: one string, or pieces sent one by one without a length. */
type CaAnswer = string | { chunks: string[] };

describe('join against a man in the middle (fake controller with its own CA, real TLS)', function () {
  this.timeout(60_000);
  let ctl: InProcessController;
  let realCa: string;
  let attackerCa: CertificateAuthority;
  let attackerTls: { key: string; cert: string };
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let ops: ReturnType<typeof clientFor>;
  const fakes: Fake[] = [];

  before(async () => {
    ctl = await startInProcessController({ enrollLimits: { max: 1000, windowMs: 60_000 } });
    realCa = ctl.context.issuer.ca.certPem;
    // The attacker names the same cluster and mints itself a "controller" identity of it.
    attackerCa = CertificateAuthority.load(await createCa({ cluster: 'test' }));
    const fakeId = await mintIdentity('controller', 'controller', { issuer: attackerCa, sans: ['127.0.0.1'] });
    attackerTls = { key: fakeId.key, cert: fakeId.cert };
    dir = await tempDir('swarm-join-mitm-');
    ops = clientFor(realCa, (await mintIdentity('operator', 'ops')).material);
  });
  after(async () => {
    await Promise.all(fakes.map((f) => f.close()));
    await ops?.close();
    await ctl?.close();
    await dir?.cleanup();
  });

  const addHost = async (name: string): Promise<{ token: string; caHash: string }> => {
    const r = await call(ops, `${ctl.url}/v1/hosts`, 'POST', { name });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body as unknown as { token: string; caHash: string };
  };

  /** The fake: answers /v1/pki/ca as told, relays /v1/enroll to the real controller (stealing the enrollment). */
  async function startFake(caAnswer: CaAnswer): Promise<Fake> {
    const seen: string[] = [];
    const relay = clientFor(realCa);
    const server: Server = createServer({ key: attackerTls.key, cert: attackerTls.cert }, (req, res) => {
      res.on('error', () => undefined);
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url}`);
        if (req.url === '/v1/pki/ca') {
          if (typeof caAnswer === 'string') {
            res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(caAnswer);
            return;
          }
          res.writeHead(200, { 'content-type': 'application/x-pem-file' }); // chunked: no length to refuse up front
          const pieces = [...caAnswer.chunks];
          const next = (): void => {
            const piece = pieces.shift();
            if (piece === undefined || res.destroyed) return void res.end();
            if (res.write(piece)) next();
            else res.once('drain', next);
          };
          res.socket?.once('close', () => pieces.splice(0));
          next();
          return;
        }
        if (req.url === '/v1/enroll') {
          request(`${ctl.url}/v1/enroll`, { method: 'POST', dispatcher: relay, body: Buffer.concat(chunks), headers: { 'content-type': 'application/json' } })
            .then(async (up) => res.writeHead(up.statusCode, { 'content-type': 'application/json' }).end(await up.body.text()))
            .catch(() => res.writeHead(502).end());
          return;
        }
        res.writeHead(404).end();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const fake: Fake = {
      url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
      seen,
      async close() {
        server.closeAllConnections();
        server.close();
        await relay.close();
      },
    };
    fakes.push(fake);
    return fake;
  }

  /** Join through the fake must be refused with `code`, without the token ever reaching it and with no file written. */
  async function assertRefused(name: string, caAnswer: CaAnswer, code: string): Promise<void> {
    const { token, caHash } = await addHost(name);
    assert.equal(caHash, fingerprintOf(realCa));
    const fake = await startFake(caAnswer);
    const pki = join(dir.path, name);
    await assert.rejects(joinCluster({ controllerUrl: fake.url, token, caHash, pkiDir: pki }), (err: Error & { code?: string }) => {
      assert.equal(err.code, code, err.message);
      return true;
    });
    assert.ok(!fake.seen.includes('POST /v1/enroll'), `the token reached the fake: ${fake.seen.join(', ')}`);
    assert.deepEqual(existsSync(pki) ? await readdir(pki) : [], [], 'nothing written');
    assert.deepEqual(await ctl.store.listCertificates({ name }), [], 'nothing issued for the host');
    // The token was not spent: the real controller still enrolls the host with it, and trusts only the real CA.
    const good = join(dir.path, `${name}-direct`);
    await joinCluster({ controllerUrl: ctl.url, token, caHash, pkiDir: good });
    const written = parseSingleCertificate(await readFile(join(good, 'ca.crt'), 'utf8'));
    assert.ok(written.ok && fingerprintOf(written.cert.pem) === caHash, 'ca.crt is the pinned certificate alone');
  }

  it('refuses the real CA followed by an attacker CA: nothing trusted, nothing written, the token never sent', async () => {
    await assertRefused('m1', `${realCa}${attackerCa.certPem}`, 'SWARM_ERR_CA_ANSWER_INVALID');
    // The same with the second CA under the old label OpenSSL still reads as a certificate.
    await assertRefused('m1b', `${realCa}${attackerCa.certPem.replace(/(BEGIN|END) CERTIFICATE/g, '$1 X509 CERTIFICATE')}`, 'SWARM_ERR_CA_ANSWER_INVALID');
  });

  it('refuses the real CA followed by non-PEM data', async () => {
    await assertRefused('m2', `${realCa}\nsubject=CN = totally the cluster CA\n`, 'SWARM_ERR_CA_ANSWER_INVALID');
  });

  it('refuses an answer larger than join.caAnswerBytes, even when it is the real CA padded with blank lines', async () => {
    const pad = '\n'.repeat(16 * 1024);
    await assertRefused('m3', { chunks: [realCa, pad, pad, pad, pad, pad, pad] }, 'SWARM_ERR_CA_ANSWER_INVALID');
    await assertRefused('m4', `${realCa}${'\n'.repeat(100 * 1024)}`, 'SWARM_ERR_CA_ANSWER_INVALID');
  });

  it('refuses a single certificate that is not the pinned one (the attacker CA alone)', async () => {
    await assertRefused('m5', attackerCa.certPem, 'SWARM_ERR_CA_HASH_MISMATCH');
  });
});

