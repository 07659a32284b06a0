// POST /v1/releases over real mTLS: stored once, refused uploads leave nothing, signatures when the controller requires them.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { request, type Agent } from 'undici';
import type { DiskReleaseBlobs } from '../../../controller/releases/index.js';
import { buildRelease, signReleaseId } from '../../../shared/release/index.js';
import { agentHealth, call, clientFor, startInProcessController, type InProcessController } from '../helpers.js';
import { mintIdentity, tempDir, type TestIdentity } from '../../helpers/pki.js';
import { gzipTar, tarEntry, validReleaseEntries, writeReleaseTree } from '../../helpers/releases.js';

interface Answer { status: number; body: Record<string, unknown> & { code?: string; message?: string } }

async function upload(d: Agent, url: string, tarball: Buffer | PassThrough, id: string, extra: Record<string, string> = {}): Promise<Answer> {
  const res = await request(`${url}/v1/releases`, {
    method: 'POST', dispatcher: d, body: tarball,
    headers: { 'content-type': 'application/gzip', 'x-swarm-release-sha256': id, ...extra },
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: JSON.parse(text) as Answer['body'] };
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function makeRelease(version: string, name = 'sensor'): Promise<{ tarball: Buffer; id: string }> {
  const dir = await tempDir('swarm-rel-src-');
  try {
    await writeReleaseTree(dir.path, { name, version });
    return await buildRelease(dir.path, { version });
  } finally {
    await dir.cleanup();
  }
}

describe('release upload (in-process controller, real mTLS)', function () {
  this.timeout(20_000);
  let operator: TestIdentity;
  let v1: { tarball: Buffer; id: string };

  before(async () => {
    operator = await mintIdentity('operator', 'admin');
    v1 = await makeRelease('1.0.0');
  });

  describe('without a signing key', () => {
    let ctl: InProcessController;
    let d: Agent;
    let dir: string;
    before(async () => {
      ctl = await startInProcessController({ releaseLimits: { pace: { minBytesPerSecond: 1000, windowMs: 300, deadlineMs: 10_000 } } });
      d = clientFor(operator.ca, operator.material);
      dir = (ctl.context.releases as DiskReleaseBlobs).options.dir;
    });
    after(async () => {
      await d?.close();
      await ctl?.close();
    });

    it('stores a good release once: the blob under releases/<id>.tar.gz, the record; a second upload answers the same record', async () => {
      const first = await upload(d, ctl.url, v1.tarball, v1.id);
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.deepEqual({ ...first.body, uploadedAt: undefined }, {
        id: v1.id, name: 'sensor', version: '1.0.0', size: v1.tarball.length, signature: null, uploadedBy: 'spiffe://test/operator/admin', uploadedAt: undefined,
      });
      assert.deepEqual(await readFile(join(dir, `${v1.id}.tar.gz`)), v1.tarball);
      const again = await upload(d, ctl.url, v1.tarball, v1.id);
      assert.equal(again.status, 200);
      assert.deepEqual(again.body, first.body, 'idempotent: the stored record, not a new one');
      assert.deepEqual(await readdir(dir), [`${v1.id}.tar.gz`], 'no temp file left');
      assert.equal((await ctl.store.listReleases()).length, 1);
      const audit = (await ctl.store.listAudit()).filter((e) => e.action === 'release.upload');
      assert.deepEqual(audit.map((e) => [e.target, e.details.created]), [[v1.id, true], [v1.id, false]]);
      const opened = await (ctl.context.releases as DiskReleaseBlobs).open(v1.id);
      assert.equal(opened.path, join(dir, `${v1.id}.tar.gz`));
      assert.equal(opened.version, '1.0.0');
    });

    it('lists releases and shows one by id, prefix or version, with the hosts that run it', async () => {
      await upload(d, ctl.url, v1.tarball, v1.id);
      await ctl.store.insertHost({ name: 'h1', address: null, labels: {}, createdAt: Date.now() });
      ctl.context.reports.record('h1', 'agent', { report: agentHealth(v1.id, '1.0.0'), at: Date.now(), certNotAfter: null });
      const list = await call(d, `${ctl.url}/v1/releases`);
      assert.equal(list.status, 200);
      assert.deepEqual((list.body as unknown as Array<{ id: string }>).map((r) => r.id), [v1.id]);
      for (const ref of [v1.id, v1.id.slice(0, 8), '1.0.0']) {
        const shown = await call(d, `${ctl.url}/v1/releases/${ref}`);
        assert.equal(shown.status, 200, `${ref}: ${JSON.stringify(shown.body)}`);
        assert.equal(shown.body.id, v1.id);
        assert.deepEqual(shown.body.hosts, ['h1']);
        assert.deepEqual(shown.body.rollouts, []);
      }
      const unknown = await call(d, `${ctl.url}/v1/releases/9.9.9`);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.code, 'SWARM_ERR_RELEASE_NOT_FOUND');
    });

    it('names the candidates of an ambiguous reference (a version uploaded twice)', async () => {
      const other = await makeRelease('1.0.0', 'other');
      assert.equal((await upload(d, ctl.url, other.tarball, other.id)).status, 201);
      const r = await call(d, `${ctl.url}/v1/releases/1.0.0`);
      assert.equal(r.status, 409);
      assert.equal(r.body.code, 'SWARM_ERR_RELEASE_AMBIGUOUS');
      assert.match(r.body.message!, new RegExp(`${v1.id.slice(0, 12)}.*|${other.id.slice(0, 12)}`));
      assert.ok(r.body.message!.includes(v1.id.slice(0, 12)) && r.body.message!.includes(other.id.slice(0, 12)), r.body.message);
    });

    it('refuses a body whose SHA-256 is not the announced id: nothing stored, temp file gone', async () => {
      const v2 = await makeRelease('2.0.0');
      const before = await readdir(dir);
      const r = await upload(d, ctl.url, v2.tarball, 'e'.repeat(64));
      assert.equal(r.status, 400);
      assert.equal(r.body.code, 'SWARM_ERR_RELEASE_HASH_MISMATCH');
      assert.deepEqual(await readdir(dir), before);
      assert.equal(await ctl.store.getRelease('e'.repeat(64)), undefined);
      assert.equal(await ctl.store.getRelease(v2.id), undefined);
    });

    it('refuses what is not a release: no manifest, an invalid manifest, an unsafe path, not gzip', async () => {
      const before = await readdir(dir);
      const cases: Array<[string, Buffer, string]> = [
        ['no manifest', gzipTar([await tarEntry({ name: 'bin/swarm-agent', mode: 0o755, content: '#!/bin/sh\n' })]), 'SWARM_ERR_INSTALL_MANIFEST_MISSING'],
        ['invalid manifest', gzipTar(await validReleaseEntries({ entrypoint: ['../escape'] })), 'SWARM_ERR_INSTALL_MANIFEST_INVALID'],
        ['path traversal', gzipTar([...await validReleaseEntries(), await tarEntry({ name: '../evil', content: 'x' })]), 'SWARM_ERR_TAR_PATH_TRAVERSAL'],
        ['not gzip', Buffer.from('just some text, not a tarball'), 'SWARM_ERR_INSTALL_CORRUPT'],
      ];
      for (const [what, body, reason] of cases) {
        const r = await upload(d, ctl.url, body, sha256(body));
        assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.code, 'SWARM_ERR_RELEASE_INVALID', what);
        assert.deepEqual(r.body.details, { reason }, what);
        assert.equal(await ctl.store.getRelease(sha256(body)), undefined, what);
      }
      assert.deepEqual(await readdir(dir), before, 'nothing kept, no temp file left');
    });

    it('refuses another content type before reading the body', async () => {
      const res = await request(`${ctl.url}/v1/releases`, { method: 'POST', dispatcher: d, body: '{}', headers: { 'content-type': 'application/json', 'x-swarm-release-sha256': v1.id } });
      assert.equal(res.statusCode, 415);
      assert.equal(((await res.body.json()) as { code: string }).code, 'SWARM_ERR_RELEASE_CONTENT_TYPE');
    });

    it('cuts an upload that stalls below the minimum rate and removes its temp file', async () => {
      const v3 = await makeRelease('3.0.0');
      const before = await readdir(dir);
      const body = new PassThrough();
      body.write(v3.tarball.subarray(0, 100));
      // The rest never comes: the controller must answer by itself.
      const r = await upload(d, ctl.url, body, v3.id);
      body.destroy();
      assert.equal(r.status, 408);
      assert.equal(r.body.code, 'SWARM_ERR_RELEASE_UPLOAD_TOO_SLOW');
      assert.deepEqual(await readdir(dir), before);
      assert.equal(await ctl.store.getRelease(v3.id), undefined);
    });
  });

  describe('with a signing key (serve --release-signing-key)', () => {
    let ctl: InProcessController;
    let d: Agent;
    const keys = generateKeyPairSync('ed25519');
    const privatePem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    before(async () => {
      ctl = await startInProcessController({ releaseSigningKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() });
      d = clientFor(operator.ca, operator.material);
    });
    after(async () => {
      await d?.close();
      await ctl?.close();
    });

    it('accepts a signed release and keeps its signature', async () => {
      const signature = signReleaseId(v1.id, privatePem);
      const r = await upload(d, ctl.url, v1.tarball, v1.id, { 'x-swarm-release-signature': signature });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.signature, signature);
    });

    it('refuses an unsigned release and one signed by another key: nothing stored', async () => {
      const v2 = await makeRelease('2.0.0');
      const unsigned = await upload(d, ctl.url, v2.tarball, v2.id);
      assert.equal(unsigned.status, 400);
      assert.equal(unsigned.body.code, 'SWARM_ERR_RELEASE_SIGNATURE_MISSING');
      const otherKey = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const forged = await upload(d, ctl.url, v2.tarball, v2.id, { 'x-swarm-release-signature': signReleaseId(v2.id, otherKey) });
      assert.equal(forged.status, 400);
      assert.equal(forged.body.code, 'SWARM_ERR_RELEASE_SIGNATURE_INVALID');
      assert.equal(await ctl.store.getRelease(v2.id), undefined);
      assert.deepEqual(await readdir((ctl.context.releases as DiskReleaseBlobs).options.dir), [`${v1.id}.tar.gz`]);
    });
  });
});
