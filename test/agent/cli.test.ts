// The swarm-agent command line: bad usage exits 2, startup faults exit 1, each with one actionable line and its code.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { AGENT_MAIN, makeFixture, writeRelease, type Fixture } from './helpers.js';

function runBin(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AGENT_MAIN, ...args], { cwd, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`swarm-agent ${args.join(' ')} did not exit; stderr: ${stderr}`));
    }, 15_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

/** The one line a person reads (JSON log lines excluded). */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.length > 0 && !l.startsWith('{'));
}

describe('swarm-agent command line', () => {
  let fx: Fixture;
  before(async () => {
    fx = await makeFixture();
  });
  after(async () => {
    await fx.cleanup();
  });

  it('exits 2 with one line on an unknown flag', async () => {
    const r = await runBin(['run', '--bogus'], fx.releaseDir);
    assert.equal(r.code, 2);
    assert.deepEqual(errorLines(r.stderr).length, 1);
    assert.match(r.stderr, /^swarm-agent: unknown option '--bogus'/);
  });

  it('exits 2 naming the flag or variable on a bad listen address or controller URL', async () => {
    const a = await runBin(['run', '--pki-dir', fx.pkiDir, '--listen', 'localhost'], fx.releaseDir);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /^swarm-agent: --listen "localhost" must be HOST:PORT/);
    const b = await runBin(['run', '--pki-dir', fx.pkiDir], fx.releaseDir, { SWARM_AGENT_LISTEN: '127.0.0.1:99999' });
    assert.equal(b.code, 2);
    assert.match(b.stderr, /SWARM_AGENT_LISTEN "127.0.0.1:99999"/);
    const c = await runBin(['run', '--pki-dir', fx.pkiDir, '--controller', 'http://c:8770'], fx.releaseDir);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /--controller "http:\/\/c:8770": must be an https:\/\/ URL/);
    assert.equal(errorLines(c.stderr).length, 1);
  });

  it('exits 1 with an actionable line when the certificates are missing', async () => {
    const r = await runBin(['run', '--pki-dir', join(fx.root, 'nowhere'), '--listen', '127.0.0.1:0'], fx.releaseDir);
    assert.equal(r.code, 1);
    const lines = errorLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^swarm-agent: .*(nowhere).*\[SWARM_ERR_TLS_FILE_MISSING\]$/);
  });

  it('reads SWARM_PKI_DIR and refuses a key others can read', async () => {
    await chmod(join(fx.pkiDir, 'agent.key'), 0o644);
    try {
      const r = await runBin(['run', '--listen', '127.0.0.1:0'], fx.releaseDir, { SWARM_PKI_DIR: fx.pkiDir });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /chmod 600 .*agent\.key \[SWARM_ERR_KEY_PERMISSIONS\]/);
    } finally {
      await chmod(join(fx.pkiDir, 'agent.key'), 0o600);
    }
  });

  it('exits 1 with its own code when the port is in use', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    try {
      const port = (busy.address() as AddressInfo).port;
      const r = await runBin(['run', '--pki-dir', fx.pkiDir, '--listen', `127.0.0.1:${port}`], fx.releaseDir);
      assert.equal(r.code, 1);
      assert.match(errorLines(r.stderr)[0]!, new RegExp(`127\\.0\\.0\\.1:${port} is already in use.*\\[SWARM_ERR_AGENT_LISTEN_IN_USE\\]$`));
    } finally {
      busy.close();
    }
  });

  it('refuses an invalid manifest at startup, naming the field', async () => {
    const dir = join(fx.root, 'bad-release');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    await writeRelease(dir, [{ name: 'BAD NAME', command: ['/bin/true'] }]);
    const r = await runBin(['run', '--pki-dir', fx.pkiDir, '--listen', '127.0.0.1:0'], dir);
    assert.equal(r.code, 1);
    assert.match(errorLines(r.stderr)[0]!, /swarm-release\.json: services\.0\.name: .*\[SWARM_ERR_AGENT_MANIFEST_INVALID\]$/);
    await writeFile(join(dir, 'swarm-release.json'), '{ not json');
    const r2 = await runBin(['run', '--pki-dir', fx.pkiDir, '--listen', '127.0.0.1:0'], dir);
    assert.match(r2.stderr, /not valid JSON.*\[SWARM_ERR_AGENT_MANIFEST_INVALID\]/);
  });
});
