// The command framework: exit codes 0/1/2 and one actionable stderr line, in process.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createProgram, parseHostPort, runCli, UsageError } from '../../shared/cli.js';
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
