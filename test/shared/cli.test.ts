// The command framework: exit codes 0/1/2 and one actionable stderr line, in process.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createServer, type AddressInfo } from 'node:net';
import { z } from 'zod';
import { createProgram, parseHostPort, parseOptions, runCli, UsageError } from '../../shared/cli.js';
import { sharedError } from '../../shared/errors.js';

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c.toString());
        cb();
      },
    }),
    text: () => chunks.join(''),
  };
}

async function exec(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const program = createProgram('tool', 'a test tool');
  const host = program.command('host').description('hosts');
  host.command('show <name>').description('show one').option('--json', 'JSON').action((name: string) => {
    if (name === 'missing') throw sharedError('SWARM_ERR_NOT_FOUND', `no host "${name}"; list hosts with tool host list`);
    if (name === 'BAD') throw new UsageError('NAME must be lowercase');
    process.stdout.write('');
  });
  const out = sink();
  const err = sink();
  const code = await runCli(program, argv, { stdout: out.stream, stderr: err.stream });
  return { code, out: out.text(), err: err.text() };
}

describe('command framework', () => {
  it('names flags as typed (kebab-case) in validation errors', async () => {
    const program = createProgram('tool', 'a test tool');
    program.command('join').option('--ca-hash <h>', 'hash').action((raw: unknown) => {
      parseOptions(z.object({ caHash: z.string().regex(/^sha256:/, { message: 'must be sha256:<hex>' }) }), raw);
    });
    const err = sink();
    const code = await runCli(program, ['join', '--ca-hash', 'md5:1'], { stdout: sink().stream, stderr: err.stream });
    assert.equal(code, 2);
    assert.match(err.text(), /^tool: --ca-hash: must be sha256:<hex>/);
  });

  it('turns a port in use and a permission error into a stable code and an action, not SWARM_ERR_INTERNAL', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      const program = createProgram('tool', 'a test tool');
      program.command('serve').action(async () => {
        const s = createServer();
        await new Promise<void>((resolve, reject) => s.once('error', reject).listen(port, '127.0.0.1', resolve));
      });
      program.command('write').action(async () => {
        const err = Object.assign(new Error("EACCES: permission denied, mkdir '/etc/swarm'"), { code: 'EACCES', syscall: 'mkdir', path: '/etc/swarm' });
        throw err;
      });
      const e1 = sink();
      assert.equal(await runCli(program, ['serve'], { stdout: sink().stream, stderr: e1.stream }), 1);
      assert.match(e1.text(), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: another process already listens there; stop it or choose another --listen \\[SWARM_ERR_ADDRESS_IN_USE\\]`));
      const e2 = sink();
      assert.equal(await runCli(program, ['write'], { stdout: sink().stream, stderr: e2.stream }), 1);
      assert.match(e2.text(), /cannot mkdir \/etc\/swarm: permission denied; run as the user that owns it \(or root\).*\[SWARM_ERR_PERMISSION_DENIED\]/);
    } finally {
      busy.close();
    }
  });

  it('prints help with exit 0', async () => {
    const r = await exec(['host', 'show', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /Usage: tool host show/);
  });

  it('exits 2 with one line for unknown flags, unknown or missing commands, missing arguments and usage errors', async () => {
    for (const argv of [['--nope'], ['nope'], [], ['host'], ['host', 'show'], ['host', 'show', 'BAD']]) {
      const r = await exec(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.match(r.err, /^tool: .*--help/);
    }
  });

  it('exits 1 with the message and code of a failure', async () => {
    const r = await exec(['host', 'show', 'missing']);
    assert.equal(r.code, 1);
    assert.equal(r.err, 'tool: no host "missing"; list hosts with tool host list [SWARM_ERR_NOT_FOUND]\n');
  });

  it('parses HOST:PORT, IPv6 in brackets, and names the flag when wrong', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:8766', '--listen'), { host: '127.0.0.1', port: 8766 });
    assert.deepEqual(parseHostPort('[::1]:0', '--listen'), { host: '::1', port: 0 });
    assert.throws(() => parseHostPort('8766', '--listen'), /--listen "8766" must be HOST:PORT/);
    assert.throws(() => parseHostPort('h:99999', '--listen'), UsageError);
  });
});
