// swarmctl release upload | list | show against a controller process (and one that requires signed releases).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnServe, startControllerProcess, type ControllerProcess } from '../controller/helpers.js';
import { writeReleaseTree } from '../helpers/releases.js';

describe('swarmctl release upload | list | show (against a controller process)', function () {
  this.timeout(60_000);
  let ctl: (ControllerProcess & { cleanup(): Promise<void> }) | undefined;
  let keyed: (ControllerProcess & { cleanup(): Promise<void> }) | undefined;
  after(async () => {
    await ctl?.cleanup();
    await keyed?.cleanup();
  });

  /** Build a release with swarmctl itself (optionally signed: FILE.sig beside it). */
  async function build(c: ControllerProcess, version: string, signKey?: string): Promise<{ file: string; id: string }> {
    const src = join(c.root, `src-${version}`);
    await writeReleaseTree(src, { name: 'sensor', version });
    const file = join(c.root, `sensor-${version}.tar.gz`);
    const r = await c.swarmctl(['--json', 'release', 'build', src, '--version', version, '--out', file, ...(signKey ? ['--sign-key', signKey] : [])]);
    assert.equal(r.code, 0, r.stderr);
    return { file, id: (JSON.parse(r.stdout) as { id: string }).id };
  }

  it('uploads (idempotently), lists and shows releases', async () => {
    ctl = await startControllerProcess([], 'clirel');
    const v1 = await build(ctl, '1.0.0');
    const up = await ctl.swarmctl(['release', 'upload', v1.file]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, new RegExp(`stored sensor 1\\.0\\.0 \\(\\d+ bytes\\)\\nid: ${v1.id}\\n`));
    const again = await ctl.swarmctl(['--json', 'release', 'upload', v1.file]);
    assert.equal(again.code, 0, again.stderr);
    const json = JSON.parse(again.stdout) as Record<string, unknown>;
    assert.equal(json.id, v1.id);
    assert.equal(json.signature, null);
    assert.equal(json.uploadedBy, 'spiffe://clirel/operator/admin');

    const list = await ctl.swarmctl(['release', 'list']);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID\s+VERSION\s+NAME\s+SIZE\s+SIGNED\s+UPLOADED BY\s+AT$/);
    assert.equal(lines.length, 2, 'stored once');
    assert.match(lines[1]!, new RegExp(`^${v1.id.slice(0, 12)}\\s+1\\.0\\.0\\s+sensor\\s+\\d+\\s+no\\s+operator/admin\\s+\\d{4}-`));

    const show = await ctl.swarmctl(['release', 'show', v1.id.slice(0, 10)]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, new RegExp(`id:\\s+${v1.id}`));
    assert.match(show.stdout, /hosts:\s+-/);
    const showJson = await ctl.swarmctl(['--json', 'release', 'show', '1.0.0']);
    assert.deepEqual((JSON.parse(showJson.stdout) as { hosts: unknown; rollouts: unknown }), { ...json, hosts: [], rollouts: [] });

    const missing = await ctl.swarmctl(['release', 'show', '7.7.7']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /SWARM_ERR_RELEASE_NOT_FOUND|no release matches "7\.7\.7"/);
    const nofile = await ctl.swarmctl(['release', 'upload', join(ctl.root, 'nope.tar.gz')]);
    assert.equal(nofile.code, 1);
    assert.match(nofile.stderr, /nope\.tar\.gz cannot be read/);
  });

  it('with serve --release-signing-key: FILE.sig goes along by default; an unsigned upload is refused', async () => {
    keyed = await startControllerProcess([], 'clisig');
    const key = join(keyed.root, 'release.key');
    assert.equal((await keyed.swarmctl(['release', 'keygen', '--out', key])).code, 0);
    // Restart serve with the key (init made the state dir; the key came after).
    await keyed.stop();
    const served = await spawnServe(keyed.stateDir, ['--release-signing-key', `${key}.pub`]);
    keyed.url = served.url;
    keyed.stop = served.stop;
    const signed = await build(keyed, '2.0.0', key);
    const up = await keyed.swarmctl(['--json', 'release', 'upload', signed.file]);
    assert.equal(up.code, 0, up.stderr);
    assert.notEqual((JSON.parse(up.stdout) as { signature: unknown }).signature, null);
    const unsigned = await build(keyed, '2.0.1');
    const refused = await keyed.swarmctl(['release', 'upload', unsigned.file]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /requires signed releases/);
    const list = await keyed.swarmctl(['--json', 'release', 'list']);
    assert.deepEqual((JSON.parse(list.stdout) as Array<{ id: string }>).map((r) => r.id), [signed.id]);
  });
});
