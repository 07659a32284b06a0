// swarmctl against a real controller process: exit codes, one-line errors, JSON shapes, operators, labels, certificates.
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { CertificateAuthority, generateKeyPair, writeIdentityFiles } from '../../pki/index.js';
import { openSqliteStore } from '../../controller/store/index.js';
import { loadTlsMaterial } from '../../shared/tls.js';
import { join } from 'node:path';
import { buildSwarmctl } from '../../cli/index.js';
import { runCli } from '../../shared/cli.js';
import { mintIdentity, writeIdentity } from '../helpers/pki.js';
import { SWARMCTL_BIN, startControllerProcess, type ControllerProcess } from '../controller/helpers.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

describe('swarmctl (against a controller process)', function () {
  this.timeout(60_000);
  let ctl: ControllerProcess & { cleanup(): Promise<void> };
  before(async () => {
    ctl = await startControllerProcess([], 'clitest');
  });
  after(async () => ctl?.cleanup());

  const oneLine = (stderr: string): string => {
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one stderr line, got: ${stderr}`);
    return lines[0]!;
  };

  /** swarmctl in this process (same code as the bin, without a process start per case). */
  const runInProcess = async (args: string[], env: Record<string, string | undefined>): Promise<{ code: number; stdout: string; stderr: string }> => {
    let stdout = '';
    let stderr = '';
    const out = { write: (s: string) => ((stdout += s), true) } as unknown as NodeJS.WritableStream;
    const err = { write: (s: string) => ((stderr += s), true) } as unknown as NodeJS.WritableStream;
    const code = await runCli(buildSwarmctl({ stdout: out, stderr: err, env }), args, { stdout: out, stderr: err });
    return { code, stdout, stderr };
  };

  it('exits 2 with one line on bad usage', async () => {
    for (const args of [['host', 'add'], ['host', 'add', 'h1', '--label', 'nolabel'], ['--controller', 'ftp://x', 'host', 'list'], ['host', 'frobnicate'], ['cert', 'list', '--role', 'king']]) {
      const r = await runInProcess(args, { SWARMCTL_CONTROLLER: ctl.url, SWARMCTL_IDENTITY: ctl.adminDir });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(oneLine(r.stderr), /^swarmctl: /);
    }
    // And the bin itself.
    const bin = await ctl.swarmctl(['host', 'add']);
    assert.equal(bin.code, 2);
    assert.match(oneLine(bin.stderr), /^swarmctl: missing required argument/);
  });

  it('exits 1 with an actionable line when it has no identity, cannot reach or cannot trust the controller', async () => {
    const none = await runInProcess(['host', 'list'], { SWARMCTL_CONTROLLER: ctl.url, SWARMCTL_IDENTITY: '' });
    assert.equal(none.code, 1);
    assert.match(oneLine(none.stderr), /--identity DIR.*\[SWARM_ERR_CLI_NO_IDENTITY\]$/);
    const down = await runInProcess(['--controller', 'https://127.0.0.1:1', 'host', 'list'], { SWARMCTL_IDENTITY: ctl.adminDir });
    assert.equal(down.code, 1);
    assert.match(oneLine(down.stderr), /cannot reach the controller at https:\/\/127\.0\.0\.1:1.*\[SWARM_ERR_CONTROLLER_UNREACHABLE\]$/);
    // An operator of another cluster does not trust this controller's CA.
    const stranger = await mintIdentity('operator', 'admin', { cluster: 'elsewhere' });
    const strangerDir = join(ctl.root, 'stranger');
    await writeIdentity(strangerDir, stranger, 'operator');
    // --identity at the controller's own PKI dir: say what the directory holds and where an operator identity
    // comes from (on the first main it said "enroll this host (swarm-updater join)").
    const wrongDir = await runInProcess(['host', 'list'], { SWARMCTL_CONTROLLER: ctl.url, SWARMCTL_IDENTITY: join(ctl.stateDir, 'pki') });
    assert.equal(wrongDir.code, 1);
    assert.match(oneLine(wrongDir.stderr), /holds a controller identity, not an operator one; point --identity .*swarmctl operator add.*\[SWARM_ERR_TLS_FILE_MISSING\]$/);
    const untrusted = await runInProcess(['host', 'list'], { SWARMCTL_CONTROLLER: ctl.url, SWARMCTL_IDENTITY: strangerDir });
    assert.equal(untrusted.code, 1);
    assert.match(oneLine(untrusted.stderr), /\[SWARM_ERR_CONTROLLER_UNTRUSTED\]$/);
  });

  it('host add refuses reserved and malformed names; host label sets and removes labels; host show details', async () => {
    const reserved = await ctl.swarmctl(['host', 'add', 'controller']);
    assert.equal(reserved.code, 1);
    assert.match(oneLine(reserved.stderr), /reserved.*\[SWARM_ERR_HOST_NAME_INVALID\]$/);
    const bad = await ctl.swarmctl(['host', 'add', 'Bad_Name']);
    assert.equal(bad.code, 1);
    const add = await ctl.swarmctl(['host', 'add', 'web1', '--label', 'site=a', '--label', 'tier=edge']);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /echo web1\.\S+ \| sudo swarm-updater join --controller https:\/\/\S+ --ca-hash sha256:[0-9a-f]{64} --token-file -/);
    const label = await ctl.swarmctl(['--json', 'host', 'label', 'web1', 'rack=7', 'tier-']);
    assert.equal(label.code, 0, label.stderr);
    assert.deepEqual((JSON.parse(label.stdout) as { labels: unknown }).labels, { site: 'a', rack: '7' });
    const badLabel = await ctl.swarmctl(['host', 'label', 'web1', 'bad key=1']);
    assert.equal(badLabel.code, 1);
    assert.match(oneLine(badLabel.stderr), /label "bad key=1" is invalid.*\[SWARM_ERR_LABEL_INVALID\]$/);
    const show = await ctl.swarmctl(['--json', 'host', 'show', 'web1']);
    const h = JSON.parse(show.stdout) as { enrolled: boolean; online: boolean; certificates: unknown[] };
    assert.equal(h.enrolled, false);
    assert.equal(h.online, false);
    assert.deepEqual(h.certificates, []);
    const human = await ctl.swarmctl(['host', 'show', 'web1']);
    assert.match(human.stdout, /^state:\s+pending enrollment$/m);
    const missing = await ctl.swarmctl(['host', 'remove', 'nosuch']);
    assert.equal(missing.code, 1);
    assert.match(oneLine(missing.stderr), /no host named "nosuch".*\[SWARM_ERR_HOST_NOT_FOUND\]$/);
  });

  it('audit shows the newest entries first, filters by --since, and --follow prints new entries as they are written', async () => {
    for (const name of ['audit-a', 'audit-b']) assert.equal((await ctl.swarmctl(['host', 'add', name])).code, 0);
    // Failed on the first main: --limit 2 returned the two oldest entries of the log.
    const two = await ctl.swarmctl(['--json', 'audit', '--limit', '2']);
    assert.equal(two.code, 0, two.stderr);
    const entries = JSON.parse(two.stdout) as Array<{ id: number; action: string; target: string }>;
    assert.deepEqual(entries.map((e) => `${e.action} ${e.target}`), ['host.add audit-b', 'host.add audit-a']);
    assert.ok(entries[0]!.id > entries[1]!.id);
    const recent = await ctl.swarmctl(['--json', 'audit', '--since', '1h']);
    assert.ok((JSON.parse(recent.stdout) as unknown[]).length >= 2);
    const badSince = await ctl.swarmctl(['audit', '--since', 'yesterday']);
    assert.equal(badSince.code, 2);
    assert.match(oneLine(badSince.stderr), /--since must be a duration/);

    const follow = spawn(process.execPath, [SWARMCTL_BIN, '--json', 'audit', '--limit', '1', '--follow'], {
      env: { ...process.env, SWARMCTL_CONTROLLER: ctl.url, SWARMCTL_IDENTITY: ctl.adminDir }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const killer = setTimeout(() => follow.kill('SIGKILL'), 20_000);
    try {
      const lines = createInterface({ input: follow.stdout });
      const seen: string[] = [];
      for await (const line of lines) {
        const e = JSON.parse(line) as { action: string; target: string };
        seen.push(`${e.action} ${e.target}`);
        if (seen.length === 1) assert.equal((await ctl.swarmctl(['host', 'add', 'audit-c'])).code, 0);
        if (seen.length === 2) break;
      }
      assert.deepEqual(seen, ['host.add audit-b', 'host.add audit-c']);
      follow.kill('SIGINT');
      const [code] = (await once(follow, 'close')) as [number | null];
      assert.equal(code, 0);
    } finally {
      clearTimeout(killer);
      follow.kill('SIGKILL');
    }
  });

  it('host list filters by --selector and shows address and labels with --wide; set-address changes it; token list and revoke', async () => {
    assert.equal((await ctl.swarmctl(['host', 'add', 'sel-a', '--label', 'site=lab', '--label', 'tier=edge', '--address', '10.0.0.1'])).code, 0);
    assert.equal((await ctl.swarmctl(['host', 'add', 'sel-b', '--label', 'site=lab', '--label', 'tier=canary', '--token-ttl', '2d'])).code, 0);
    const lab = await ctl.swarmctl(['--json', 'host', 'list', '--selector', 'site=lab,tier!=canary']);
    assert.equal(lab.code, 0, lab.stderr);
    assert.deepEqual((JSON.parse(lab.stdout) as Array<{ name: string }>).map((h) => h.name), ['sel-a']);
    const wide = await ctl.swarmctl(['host', 'list', '--selector', 'site=lab', '--wide']);
    assert.match(wide.stdout, /^NAME .*ADDRESS\s+LABELS$/m);
    assert.match(wide.stdout, /^sel-a .*10\.0\.0\.1:8766\s+site=lab,tier=edge$/m);
    const badSelector = await ctl.swarmctl(['host', 'list', '--selector', 'site']);
    assert.equal(badSelector.code, 2);
    assert.match(oneLine(badSelector.stderr), /--selector: "site" is not KEY=VALUE/);

    // Addresses: a port out of range is refused before anything is sent; the address can be changed.
    const badPort = await ctl.swarmctl(['host', 'add', 'sel-c', '--address', '10.0.0.3:70000']);
    assert.equal(badPort.code, 2);
    assert.match(oneLine(badPort.stderr), /the port must be from 1 to 65535/);
    const moved = await ctl.swarmctl(['--json', 'host', 'set-address', 'sel-a', '10.0.0.9:9766']);
    assert.equal(moved.code, 0, moved.stderr);
    assert.equal((JSON.parse(moved.stdout) as { address: string }).address, '10.0.0.9:9766');

    // Pending tokens: listed (never the secret), with the lifetime asked for; revoked ones stop being pending.
    const tokens = await ctl.swarmctl(['--json', 'token', 'list']);
    const pending = JSON.parse(tokens.stdout) as Array<{ name: string; expiresAt: string; token?: unknown }>;
    const b = pending.find((t) => t.name === 'sel-b');
    assert.ok(b && pending.every((t) => t.token === undefined));
    assert.ok(Date.parse(b.expiresAt) - Date.now() > 47 * 3_600_000, 'sel-b token lasts about two days');
    assert.equal((await ctl.swarmctl(['token', 'revoke', 'sel-b'])).code, 0);
    assert.ok(!(JSON.parse((await ctl.swarmctl(['--json', 'token', 'list'])).stdout) as Array<{ name: string }>).some((t) => t.name === 'sel-b'));
    const again = await ctl.swarmctl(['token', 'revoke', 'sel-b']);
    assert.equal(again.code, 1);
    assert.match(oneLine(again.stderr), /\[SWARM_ERR_TOKEN_NOT_FOUND\]$/);
    const badTtl = await ctl.swarmctl(['host', 'add', 'sel-d', '--token-ttl', '30d']);
    assert.equal(badTtl.code, 2);
  });

  it('operator add writes a private identity that works; operator remove revokes it; nobody removes themselves', async () => {
    const carolDir = join(ctl.root, 'carol');
    const add = await ctl.swarmctl(['--json', 'operator', 'add', 'carol', '--out', carolDir]);
    assert.equal(add.code, 0, add.stderr);
    assert.equal((JSON.parse(add.stdout) as { identity: string }).identity, 'spiffe://clitest/operator/carol');
    assert.equal((await stat(carolDir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(carolDir, 'operator.key'))).mode & 0o777, 0o600);
    const again = await ctl.swarmctl(['operator', 'add', 'carol2', '--out', carolDir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /SWARM_ERR_CLI_OUT_EXISTS/);
    const dup = await ctl.swarmctl(['operator', 'add', 'carol', '--out', join(ctl.root, 'carol-dup')]);
    assert.match(dup.stderr, /SWARM_ERR_OPERATOR_EXISTS/);

    const asCarol = await ctl.swarmctl(['--json', 'status'], carolDir);
    assert.equal(asCarol.code, 0, asCarol.stderr);
    const self = await ctl.swarmctl(['operator', 'remove', 'carol'], carolDir);
    assert.match(oneLine(self.stderr), /SWARM_ERR_OPERATOR_SELF_REMOVE/);

    const rm = await ctl.swarmctl(['--json', 'operator', 'remove', 'carol']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal((JSON.parse(rm.stdout) as { revoked: string[] }).revoked.length, 1);
    const refused = await ctl.swarmctl(['host', 'list'], carolDir);
    assert.equal(refused.code, 1);
    assert.match(oneLine(refused.stderr), /revoked.*\[SWARM_ERR_AUTH_REVOKED\]$/);

    const certs = await ctl.swarmctl(['--json', 'cert', 'list', '--role', 'operator']);
    const list = JSON.parse(certs.stdout) as Array<{ name: string; state: string }>;
    assert.deepEqual(list.map((c) => `${c.name} ${c.state}`).sort(), ['admin valid', 'carol revoked']);
    const table = await ctl.swarmctl(['cert', 'list']);
    assert.match(table.stdout, /^ROLE\s+NAME\s+SERIAL\s+STATE/m);

    const audit = await ctl.swarmctl(['--json', 'audit']);
    const entries = (JSON.parse(audit.stdout) as Array<{ actor: string; action: string; target: string }>).map((e) => `${e.actor} ${e.action} ${e.target}`);
    assert.ok(entries.includes('spiffe://clitest/operator/admin operator.add carol'));
    assert.ok(entries.includes('spiffe://clitest/operator/admin operator.remove carol'));
    assert.ok(entries.includes('spiffe://clitest/operator/admin host.label web1'));
  });

  it('renews its operator certificate before a command when less than a third of its lifetime is left', async () => {
    const ca = CertificateAuthority.load({ certPem: await readFile(join(ctl.stateDir, 'pki', 'ca.crt'), 'utf8'), keyPem: await readFile(join(ctl.stateDir, 'pki', 'ca.key'), 'utf8') });
    const key = await generateKeyPair();
    // Issued 50 minutes ago for an hour: a sixth of its life is left.
    const now = Date.now();
    const issued = ca.issue({ publicKeyPem: key.publicKeyPem, identity: { cluster: 'clitest', role: 'operator', name: 'bob' }, lifetimeMs: 3_600_000, now: now - 3_000_000 });
    const store = openSqliteStore(join(ctl.stateDir, 'swarm.db'));
    await store.recordCertificate({ serial: issued.serial, role: 'operator', name: 'bob', notBefore: issued.notBefore, notAfter: issued.notAfter, issuedAt: now - 3_000_000 });
    await store.close();
    const bobDir = join(ctl.root, 'bob');
    await writeIdentityFiles(bobDir, 'operator', { caPem: ca.certPem, certPem: issued.certPem, keyPem: key.privateKeyPem });
    const r = await ctl.swarmctl(['--json', 'status'], bobDir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(oneLine(r.stderr), /renewed the operator certificate/);
    const renewed = await loadTlsMaterial(bobDir, 'operator');
    assert.notEqual(renewed.serial, issued.serial);
    assert.ok(renewed.notAfter > issued.notAfter);
    assert.notEqual(renewed.key, key.privateKeyPem, 'a fresh key');
  });

  it('says the operator certificate expired (not that the controller is untrusted) and how to get a new one', async () => {
    const ca = CertificateAuthority.load({ certPem: await readFile(join(ctl.stateDir, 'pki', 'ca.crt'), 'utf8'), keyPem: await readFile(join(ctl.stateDir, 'pki', 'ca.key'), 'utf8') });
    const key = await generateKeyPair();
    const issued = ca.issue({ publicKeyPem: key.publicKeyPem, identity: { cluster: 'clitest', role: 'operator', name: 'carol' }, lifetimeMs: 3_600_000, now: Date.now() - 7_200_000 });
    const dir = join(ctl.root, 'carol');
    await writeIdentityFiles(dir, 'operator', { caPem: ca.certPem, certPem: issued.certPem, keyPem: key.privateKeyPem });
    const r = await ctl.swarmctl(['host', 'list'], dir);
    assert.equal(r.code, 1);
    assert.match(oneLine(r.stderr), /operator certificate .* expired .*issue-operator.*\[SWARM_ERR_CLI_IDENTITY_EXPIRED\]$/);
  });

  it('status prints a fleet summary for people and JSON for scripts', async () => {
    const st = await ctl.swarmctl(['--json', 'status']);
    const s = JSON.parse(st.stdout) as { cluster: string; hosts: { total: number; pending: number } };
    assert.equal(s.cluster, 'clitest');
    assert.equal(s.hosts.pending, s.hosts.total);
    const human = await ctl.swarmctl(['status']);
    assert.match(human.stdout, /^hosts: \d+ \(0 online, 0 offline, \d+ pending enrollment\)$/m);
  });
});
