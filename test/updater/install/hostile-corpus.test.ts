// The hostile tarball corpus: each trick is refused with its own code, and nothing outside staging changes.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { releaseIdOf, signReleaseId } from '../../../shared/release/index.js';
import type { InstallLimits } from '../../../updater/install/index.js';
import { chunkedBody, gnuLong, gzipBombTarball, gzipTar, padded, rawHeader, tarEntry, validReleaseEntries, manifestJson } from '../../helpers/releases.js';
import { createSandbox, defaultLimits, snapshot, type Sandbox } from './sandbox.js';

interface HostileCase {
  title: string;
  code: string;
  tarball: (sb: Sandbox) => Promise<Buffer>;
  limits?: Partial<InstallLimits>;
  /** the id sent (default: the tarball's real id) */
  id?: (real: string) => string;
  sign?: 'none' | 'other-key' | 'garbage';
  before?: (sb: Sandbox, id: string) => Promise<void>;
}

const signing = generateKeyPairSync('ed25519');
const otherKey = generateKeyPairSync('ed25519');
const signingPub = signing.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const otherPriv = otherKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const withValid = async (...hostile: Buffer[]): Promise<Buffer> => gzipTar([...(await validReleaseEntries()), ...hostile]);

const cases: HostileCase[] = [
  { title: 'absolute path into the sentinel', code: 'SWARM_ERR_TAR_ABSOLUTE_PATH', tarball: async (sb) => withValid(await tarEntry({ name: join(sb.outer, 'sentinel', 'pwned'), content: 'x' })) },
  { title: '../ climbing to the sentinel', code: 'SWARM_ERR_TAR_PATH_TRAVERSAL', tarball: async () => withValid(await tarEntry({ name: '../../../sentinel/pwned', content: 'x' })) },
  { title: '.. hidden in the middle', code: 'SWARM_ERR_TAR_PATH_TRAVERSAL', tarball: async () => withValid(await tarEntry({ name: 'bin/../../../pwned-marker-parent.txt', content: 'x' })) },
  { title: 'PAX path renaming a harmless entry to ../', code: 'SWARM_ERR_TAR_PATH_TRAVERSAL', tarball: async () => withValid(await tarEntry({ name: 'harmless.txt', content: 'x', pax: { path: '../../../sentinel/pwned' } })) },
  { title: 'GNU long name hiding ../', code: 'SWARM_ERR_TAR_PATH_TRAVERSAL', tarball: async () => withValid(gnuLong('L', `${'a/'.repeat(60)}../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../sentinel/pwned`), rawHeader({ name: 'innocent', typeflag: '0', size: 1, gnu: true }), padded('x')) },
  { title: 'absolute symlink to the sentinel', code: 'SWARM_ERR_TAR_LINK_ESCAPE', tarball: async (sb) => withValid(await tarEntry({ name: 'evil', type: 'symlink', linkname: join(sb.outer, 'sentinel') })) },
  { title: 'relative symlink leaving the release', code: 'SWARM_ERR_TAR_LINK_ESCAPE', tarball: async () => withValid(await tarEntry({ name: 'bin/evil', type: 'symlink', linkname: '../../../sentinel' })) },
  { title: 'symlink target with .. after a name', code: 'SWARM_ERR_TAR_LINK_ESCAPE', tarball: async () => withValid(await tarEntry({ name: 'self', type: 'symlink', linkname: '.' }), await tarEntry({ name: 'up', type: 'symlink', linkname: 'self/..' })) },
  { title: 'PAX linkpath retargeting a symlink outside', code: 'SWARM_ERR_TAR_LINK_ESCAPE', tarball: async () => withValid(await tarEntry({ name: 'ok-link', type: 'symlink', linkname: 'bin', pax: { linkpath: '../../../sentinel' } })) },
  { title: 'GNU long link name pointing outside', code: 'SWARM_ERR_TAR_LINK_ESCAPE', tarball: async (sb) => withValid(gnuLong('K', `${join(sb.outer, 'sentinel')}/${'x'.repeat(120)}`), rawHeader({ name: 'longlink', typeflag: '2', linkname: 'bin', gnu: true })) },
  { title: 'file written through an earlier symlink', code: 'SWARM_ERR_TAR_THROUGH_SYMLINK', tarball: async () => withValid(await tarEntry({ name: 'lib', type: 'symlink', linkname: 'bin' }), await tarEntry({ name: 'lib/swarm-agent2', content: 'x' })) },
  { title: 'file written through a symlink deeper in the path', code: 'SWARM_ERR_TAR_THROUGH_SYMLINK', tarball: async () => withValid(await tarEntry({ name: 'bin/here', type: 'symlink', linkname: '.' }), await tarEntry({ name: 'bin/here/x/y', content: 'x' })) },
  { title: 'hard link to /etc/passwd', code: 'SWARM_ERR_TAR_HARD_LINK', tarball: async () => withValid(await tarEntry({ name: 'passwd', type: 'link', linkname: '/etc/passwd' })) },
  { title: 'character device', code: 'SWARM_ERR_TAR_DEVICE', tarball: async () => withValid(await tarEntry({ name: 'null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 })) },
  { title: 'block device', code: 'SWARM_ERR_TAR_DEVICE', tarball: async () => withValid(await tarEntry({ name: 'sda', type: 'block-device', mode: 0o660, devmajor: 8, devminor: 0 })) },
  { title: 'FIFO', code: 'SWARM_ERR_TAR_FIFO', tarball: async () => withValid(await tarEntry({ name: 'pipe', type: 'fifo' })) },
  { title: 'setuid file', code: 'SWARM_ERR_TAR_SPECIAL_MODE', tarball: async () => withValid(await tarEntry({ name: 'bin/suid', mode: 0o4755, content: 'x' })) },
  { title: 'setgid directory', code: 'SWARM_ERR_TAR_SPECIAL_MODE', tarball: async () => withValid(await tarEntry({ name: 'sgid/', type: 'directory', mode: 0o2755 })) },
  { title: 'sticky directory', code: 'SWARM_ERR_TAR_SPECIAL_MODE', tarball: async () => withValid(await tarEntry({ name: 'tmp/', type: 'directory', mode: 0o1777 })) },
  { title: 'unknown typeflag', code: 'SWARM_ERR_TAR_UNSUPPORTED_TYPE', tarball: async () => withValid(rawHeader({ name: 'weird', typeflag: 'Z' })) },
  { title: 'contiguous file', code: 'SWARM_ERR_TAR_UNSUPPORTED_TYPE', tarball: async () => withValid(await tarEntry({ name: 'contig', type: 'contiguous-file', content: 'x' })) },
  { title: 'NUL byte in a PAX name', code: 'SWARM_ERR_TAR_BAD_NAME', tarball: async () => withValid(await tarEntry({ name: 'plain', content: 'x', pax: { path: 'bin/swarm-agent\u0000.txt' } })) },
  { title: 'backslashes in a name', code: 'SWARM_ERR_TAR_BAD_NAME', tarball: async () => withValid(await tarEntry({ name: '..\\..\\..\\sentinel\\pwned', content: 'x' })) },
  { title: 'the sidecar inside the tarball', code: 'SWARM_ERR_TAR_RESERVED_NAME', tarball: async () => withValid(await tarEntry({ name: '.swarm-release.json', content: '{}' })) },
  { title: 'duplicate entry', code: 'SWARM_ERR_TAR_DUPLICATE_ENTRY', tarball: async () => withValid(await tarEntry({ name: 'bin/swarm-agent', mode: 0o755, content: 'replaced' })) },
  { title: 'duplicate entry after normalization (./x, x//)', code: 'SWARM_ERR_TAR_DUPLICATE_ENTRY', tarball: async () => withValid(await tarEntry({ name: './etc/conf', content: 'a' }), await tarEntry({ name: 'etc//conf', content: 'b' })) },
  { title: 'directory under a file', code: 'SWARM_ERR_TAR_PATH_CONFLICT', tarball: async () => withValid(await tarEntry({ name: 'bin/swarm-agent/x', content: 'x' })) },
  { title: 'file replacing a directory', code: 'SWARM_ERR_TAR_PATH_CONFLICT', tarball: async () => withValid(await tarEntry({ name: 'lib/a', content: 'x' }), await tarEntry({ name: 'lib', content: 'x' })) },
  { title: 'path longer than the limit', code: 'SWARM_ERR_TAR_PATH_TOO_LONG', limits: { maxPathBytes: 200 }, tarball: async () => withValid(await tarEntry({ name: `deep/${'x'.repeat(300)}`, content: 'x' })) },
  { title: 'more entries than the limit', code: 'SWARM_ERR_TAR_TOO_MANY_ENTRIES', limits: { maxEntries: 10 }, tarball: async () => withValid(...(await Promise.all(Array.from({ length: 12 }, (_, i) => tarEntry({ name: `many/f${i}`, content: 'x' }))))) },
  { title: 'unpacked size over the limit', code: 'SWARM_ERR_TAR_TOO_LARGE', limits: { maxUnpackedBytes: 1024 * 1024 }, tarball: async () => withValid(await tarEntry({ name: 'big.bin', content: Buffer.alloc(2 * 1024 * 1024, 7) })) },
  { title: 'compressed size over the limit', code: 'SWARM_ERR_INSTALL_TOO_LARGE', limits: { maxCompressedBytes: 1000 }, tarball: async () => withValid(await tarEntry({ name: 'noise.bin', content: randomBytes(4000) })) },
  { title: 'gzip bomb past the ratio', code: 'SWARM_ERR_INSTALL_RATIO_EXCEEDED', tarball: async () => gzipBombTarball(256 * 1024 * 1024, await validReleaseEntries()) },
  { title: 'truncated gzip', code: 'SWARM_ERR_INSTALL_CORRUPT', tarball: async () => {
    const whole = await withValid(await tarEntry({ name: 'x', content: randomBytes(5000) }));
    return whole.subarray(0, whole.length - 100);
  } },
  { title: 'tar header with a bad checksum', code: 'SWARM_ERR_INSTALL_CORRUPT', tarball: async () => withValid(rawHeader({ name: 'broken', typeflag: '0', badChecksum: true })) },
  { title: 'tar cut in the middle of an entry', code: 'SWARM_ERR_TAR_TRUNCATED', tarball: async () => gzipSync(Buffer.concat([...(await validReleaseEntries()), (await tarEntry({ name: 'cut.bin', content: Buffer.alloc(4096, 1) })).subarray(0, 1024)])) },
  { title: 'a lone PAX header claiming 1 GiB, nothing after it', code: 'SWARM_ERR_INSTALL_CORRUPT', tarball: async () => gzipSync(rawHeader({ name: 'PaxHeaders/x', typeflag: 'x', size: 1024 ** 3 })) },
  { title: 'a GNU long name claiming 3 MiB, cut after its header', code: 'SWARM_ERR_TAR_TRUNCATED', tarball: async () => gzipSync(Buffer.concat([...(await validReleaseEntries()), rawHeader({ name: '././@LongLink', typeflag: 'L', size: 3 * 1024 * 1024, gnu: true })])) },
  { title: 'not gzip at all', code: 'SWARM_ERR_INSTALL_CORRUPT', tarball: async () => Buffer.from('PK\u0003\u0004 this is a zip file, not a gzip'.repeat(10)) },
  { title: 'SHA-256 mismatch discovered at the end', code: 'SWARM_ERR_INSTALL_SHA256_MISMATCH', id: (real) => releaseIdOf(Buffer.from(real)), tarball: async () => withValid(await tarEntry({ name: 'data.txt', content: 'x' })) },
  { title: 'malformed release id', code: 'SWARM_ERR_INSTALL_ID_INVALID', id: () => '../../etc', tarball: async () => withValid() },
  { title: 'unsigned release on a host that requires signatures', code: 'SWARM_ERR_INSTALL_SIGNATURE_MISSING', sign: 'none', tarball: async () => withValid() },
  { title: 'release signed by another key', code: 'SWARM_ERR_INSTALL_SIGNATURE_INVALID', sign: 'other-key', tarball: async () => withValid() },
  { title: 'garbage signature', code: 'SWARM_ERR_INSTALL_SIGNATURE_INVALID', sign: 'garbage', tarball: async () => withValid() },
  { title: 'release marked bad', code: 'SWARM_ERR_INSTALL_MARKED_BAD', before: (sb, id) => sb.store.markBad(id, 'rolled back in test'), tarball: async () => withValid(await tarEntry({ name: 'marked.txt', content: 'x' })) },
  { title: 'no manifest', code: 'SWARM_ERR_INSTALL_MANIFEST_MISSING', tarball: async () => gzipTar([await tarEntry({ name: 'bin/swarm-agent', mode: 0o755, content: 'x' })]) },
  { title: 'manifest that is not JSON', code: 'SWARM_ERR_INSTALL_MANIFEST_INVALID', tarball: async () => gzipTar([await tarEntry({ name: 'swarm-release.json', content: '{not json' }), await tarEntry({ name: 'bin/swarm-agent', mode: 0o755, content: 'x' })]) },
  { title: 'manifest whose version would leave releases/', code: 'SWARM_ERR_INSTALL_MANIFEST_INVALID', tarball: async () => gzipTar([await tarEntry({ name: 'swarm-release.json', content: manifestJson({ version: '../../../sentinel' }) }), await tarEntry({ name: 'bin/swarm-agent', mode: 0o755, content: 'x' })]) },
  { title: 'manifest that is a symlink', code: 'SWARM_ERR_INSTALL_MANIFEST_INVALID', tarball: async () => gzipTar([await tarEntry({ name: 'real.json', content: manifestJson() }), await tarEntry({ name: 'swarm-release.json', type: 'symlink', linkname: 'real.json' }), await tarEntry({ name: 'bin/swarm-agent', mode: 0o755, content: 'x' })]) },
  { title: 'manifest whose entrypoint leaves the release', code: 'SWARM_ERR_INSTALL_MANIFEST_INVALID', tarball: async () => gzipTar([await tarEntry({ name: 'swarm-release.json', content: manifestJson({ entrypoint: ['../../bin/sh'] }) })]) },
  { title: 'entrypoint missing from the release', code: 'SWARM_ERR_INSTALL_ENTRYPOINT_INVALID', tarball: async () => gzipTar([await tarEntry({ name: 'swarm-release.json', content: manifestJson() })]) },
  { title: 'entrypoint that is a directory', code: 'SWARM_ERR_INSTALL_ENTRYPOINT_INVALID', tarball: async () => gzipTar([await tarEntry({ name: 'swarm-release.json', content: manifestJson() }), await tarEntry({ name: 'bin/swarm-agent/', type: 'directory' })]) },
  { title: 'entrypoint through a symlink to nothing', code: 'SWARM_ERR_INSTALL_ENTRYPOINT_INVALID', tarball: async () => gzipTar([await tarEntry({ name: 'swarm-release.json', content: manifestJson() }), await tarEntry({ name: 'bin', type: 'symlink', linkname: 'nowhere' })]) },
  { title: 'entrypoint not executable', code: 'SWARM_ERR_INSTALL_ENTRYPOINT_INVALID', tarball: async () => gzipTar([await tarEntry({ name: 'swarm-release.json', content: manifestJson() }), await tarEntry({ name: 'bin/swarm-agent', mode: 0o644, content: 'x' })]) },
  { title: 'a second archive appended after the end-of-archive blocks', code: 'SWARM_ERR_TAR_DATA_AFTER_END', tarball: async () => gzipSync(Buffer.concat([...(await validReleaseEntries()), Buffer.alloc(1024), await tarEntry({ name: 'hidden/backdoor', mode: 0o755, content: 'not listed by tar -t' }), Buffer.alloc(1024)])) },
  { title: 'an entry after a single zero block', code: 'SWARM_ERR_TAR_DATA_AFTER_END', tarball: async () => withValid(Buffer.alloc(512), await tarEntry({ name: 'after-zero', content: 'x' })) },
  { title: 'gzip with trailing garbage after the last member', code: 'SWARM_ERR_INSTALL_CORRUPT', tarball: async () => Buffer.concat([await withValid(), Buffer.from('trailing garbage, not a gzip member')]) },
  { title: 'gzip bomb split into many small members (ratio is cumulative)', code: 'SWARM_ERR_INSTALL_RATIO_EXCEEDED', tarball: async () => {
    const tar = Buffer.concat([...(await validReleaseEntries()), rawHeader({ name: 'zeros.bin', typeflag: '0', size: 512 * 1024 * 1024 })]);
    const zeros = gzipSync(Buffer.alloc(1024 * 1024), { level: 9 });
    return Buffer.concat([gzipSync(tar), ...Array.from({ length: 512 }, () => zeros), gzipSync(Buffer.alloc(1024))]);
  } },
  { title: 'a directory entry after a file of the same name', code: 'SWARM_ERR_TAR_DUPLICATE_ENTRY', tarball: async () => withValid(await tarEntry({ name: 'data', content: 'x' }), await tarEntry({ name: 'data/', type: 'directory' })) },
  { title: 'entrypoint replaced by a symlink to /bin/sh', code: 'SWARM_ERR_TAR_LINK_ESCAPE', tarball: async () => gzipTar([await tarEntry({ name: 'swarm-release.json', content: manifestJson() }), await tarEntry({ name: 'bin/swarm-agent', type: 'symlink', linkname: '/bin/sh' })]) },
];

describe('updater/install: hostile tarball corpus', function () {
  this.timeout(60_000);
  let sb: Sandbox;
  before(async () => {
    sb = await createSandbox();
  });
  after(() => sb.cleanup());

  it(`has at least 20 cases with distinct tricks (${cases.length})`, () => {
    assert.ok(cases.length >= 20);
    assert.ok(new Set(cases.map((c) => c.code)).size >= 20, 'fewer than 20 distinct codes');
  });

  for (const c of cases) {
    it(`refuses ${c.title} with ${c.code}`, async () => {
      const tarball = await c.tarball(sb);
      const realId = releaseIdOf(tarball);
      const id = c.id ? c.id(realId) : realId;
      if (c.before) await c.before(sb, id);
      const before = await snapshot(sb.outer);
      const releasesBefore = await readdir(join(sb.root, 'releases'));
      const linksBefore = await sb.store.readLinks();
      const signed = c.sign !== undefined;
      const signature = c.sign === 'other-key' ? signReleaseId(id, otherPriv) : c.sign === 'garbage' ? 'AAAA' : undefined;
      const { body, pulled } = chunkedBody(tarball, 16 * 1024);
      await assert.rejects(
        sb.store.install({ body, expectedId: id, limits: { ...defaultLimits(), ...c.limits }, ...(signed ? { signingPublicKeyPem: signingPub } : {}), ...(signature ? { signature } : {}) }),
        (err: Error & { code?: string; status?: number }) => {
          assert.equal(err.code, c.code, `${err.code}: ${err.message}`);
          assert.ok(err.message.length > 20, 'the message says what happened');
          assert.ok(err.status! >= 400 && err.status! < 600);
          return true;
        },
      );
      assert.deepEqual(await readdir(join(sb.root, 'staging')), [], 'staging is empty');
      assert.deepEqual(await readdir(join(sb.root, 'releases')), releasesBefore, 'releases/ did not change');
      assert.deepEqual(await snapshot(sb.outer), before, 'something outside staging changed');
      const links = await sb.store.readLinks();
      assert.equal(links.active?.dirName, linksBefore.active?.dirName);
      assert.equal(links.active?.dirName, sb.activeDir);
      if (c.code === 'SWARM_ERR_INSTALL_RATIO_EXCEEDED') assert.ok(pulled() < tarball.length, `the bomb was refused only after reading all ${tarball.length} bytes`);
    });
  }
});
