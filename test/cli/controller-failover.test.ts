// swarmctl with several --controller URLs: a controller that cannot be reached is skipped, one that answered is final.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { buildSwarmctl } from '../../cli/index.js';
import { globalOptions } from '../../cli/session.js';
import { runCli } from '../../shared/cli.js';
import { SWARMCTL_BIN, runBin, startControllerProcess, type ControllerProcess } from '../controller/helpers.js';
import { freePort } from '../helpers/ports.js';
import { UPDATER_MAIN } from '../updater/helpers/host.js';

/** A TCP listener that counts the connections it gets and drops each at once (no TLS). */
async function countingListener(): Promise<{ url: string; count: () => number; close(): Promise<void> }> {
  let n = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    n += 1;
    sockets.add(socket);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    count: () => n,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('swarmctl: several controller URLs', function () {
  this.timeout(60_000);
  let ctl: ControllerProcess & { cleanup(): Promise<void> };
  let dead: string;

  before(async () => {
    ctl = await startControllerProcess();
    dead = `https://127.0.0.1:${await freePort()}`;
  });
  after(async () => {
    await ctl?.cleanup();
  });

  const run = async (args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; stdout: string; stderr: string }> => {
    let stdout = '';
    let stderr = '';
    const out = { write: (s: string) => ((stdout += s), true) } as unknown as NodeJS.WritableStream;
    const err = { write: (s: string) => ((stderr += s), true) } as unknown as NodeJS.WritableStream;
    const code = await runCli(buildSwarmctl({ stdout: out, stderr: err, env: { SWARMCTL_IDENTITY: ctl.adminDir, ...env } }), args, { stdout: out, stderr: err });
    return { code, stdout, stderr };
  };

  it('takes --controller repeated, or SWARMCTL_CONTROLLER with commas, and names a bad URL and the flag', () => {
    const program = buildSwarmctl({ stdout: process.stdout, stderr: process.stderr, env: {} });
    program.exitOverride();
    program.parseOptions(['--controller', 'https://a:8770/', '--controller', 'https://b:8770,https://c:8770']);
    assert.deepEqual(globalOptions(program, {}).controllers, ['https://a:8770', 'https://b:8770', 'https://c:8770']);
    assert.equal(globalOptions(program, {}).controller, 'https://a:8770');
    const fromEnv = buildSwarmctl({ stdout: process.stdout, stderr: process.stderr, env: {} });
    fromEnv.parseOptions([]);
    assert.deepEqual(globalOptions(fromEnv, { SWARMCTL_CONTROLLER: 'https://a:8770, https://b:8770' }).controllers, ['https://a:8770', 'https://b:8770']);
    assert.deepEqual(globalOptions(fromEnv, { SWARMCTL_CONTROLLER: 'https://a:8770' }).controllers, ['https://a:8770']);
    const bad = buildSwarmctl({ stdout: process.stdout, stderr: process.stderr, env: {} });
    bad.parseOptions(['--controller', 'https://a:8770', '--controller', 'http://b:8770']);
    assert.throws(() => globalOptions(bad, {}), (err: Error) => err.name === 'UsageError' && /^--controller \(or SWARMCTL_CONTROLLER\): "http:\/\/b:8770" must be an https:\/\/ URL/.test(err.message));
  });

  it('a command whose first controller refuses the connection answers from the next one', async () => {
    const started = Date.now();
    const r = await run(['--controller', dead, '--controller', ctl.url, '--json', 'host', 'list']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Array.isArray(JSON.parse(r.stdout)));
    // The bin too, with the comma form of the variable, and a write: done once, on the live controller.
    const add = await runBin(SWARMCTL_BIN, ['--json', 'host', 'add', 'fo-1'], { SWARMCTL_CONTROLLER: `${dead},${ctl.url}`, SWARMCTL_IDENTITY: ctl.adminDir });
    assert.equal(add.code, 0, add.stderr);
    // The join command it prints names every URL, so join too can enroll at whichever is up.
    assert.ok((JSON.parse(add.stdout) as { joinCommand: string }).joinCommand.includes(`--controller ${dead},${ctl.url} `));
    const show = await ctl.swarmctl(['--json', 'host', 'show', 'fo-1']);
    assert.equal(show.code, 0, show.stderr);
    // swarm-updater join with the same two URLs enrolls at the live one.
    const added = JSON.parse(add.stdout) as { token: string; caHash: string };
    const join_ = await runBin(UPDATER_MAIN, ['join', '--controller', dead, '--controller', ctl.url, '--ca-hash', added.caHash, '--pki-dir', join(ctl.root, 'fo-1-pki'), '--json'], { SWARM_JOIN_TOKEN: added.token });
    assert.equal(join_.code, 0, join_.stderr);
    assert.equal((JSON.parse(join_.stdout) as { name: string }).name, 'fo-1');
    assert.ok(Date.now() - started < 30_000);
  });

  it('a controller that fails the TLS handshake is skipped as well', async () => {
    const notTls = await countingListener();
    try {
      const r = await run(['--controller', notTls.url, '--controller', ctl.url, '--json', 'host', 'list']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(notTls.count() >= 1);
    } finally {
      await notTls.close();
    }
  });

  it('a write the first controller answered with an error is not sent to the next one', async () => {
    const second = await countingListener();
    try {
      const r = await run(['--controller', ctl.url, '--controller', second.url, 'host', 'remove', 'fo-nosuch']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /\[SWARM_ERR_HOST_NOT_FOUND\]$/m);
      assert.equal(second.count(), 0, 'the second controller was never contacted');
    } finally {
      await second.close();
    }
  });

  it('when no controller can be reached the command fails naming the last one tried', async () => {
    const r = await run(['--controller', dead, '--controller', dead.replace(/:(\d+)$/, (_m, p: string) => `:${Number(p) === 65535 ? 1 : Number(p) + 1}`), 'host', 'list']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /SWARM_ERR_CONTROLLER_UNREACHABLE/);
  });
});
