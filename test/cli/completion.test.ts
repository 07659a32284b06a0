// swarmctl completion: scripts made from the command tree; the bash one completes commands and options in a real bash.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { buildSwarmctl } from '../../cli/index.js';
import { runCli } from '../../shared/cli.js';

async function swarmctl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void): Writable => new Writable({ write(c: Buffer, _e, cb) { f(c.toString()); cb(); } });
  const stdout = sink((s) => (out += s));
  const stderr = sink((s) => (err += s));
  const code = await runCli(buildSwarmctl({ stdout, stderr, env: {} }), args, { stdout, stderr });
  return { code, out, err };
}

describe('swarmctl completion', () => {
  it('completes commands, subcommands and options in bash', async () => {
    const script = (await swarmctl(['completion', 'bash'])).out;
    const complete = (words: string[]): string => {
      const r = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(${words.map((w) => `"${w}"`).join(' ')}); COMP_CWORD=${words.length - 1}; _swarmctl_complete; echo "\${COMPREPLY[*]}"`], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    assert.equal(complete(['swarmctl', 'ho']), 'host');
    assert.equal(complete(['swarmctl', 'host', 'a']), 'add');
    assert.equal(complete(['swarmctl', '--json', 'host', 'add', '--l']), '--label');
    assert.equal(complete(['swarmctl', 'audit', '--f']), '--follow');
  });

  it('writes zsh and fish scripts, and refuses another shell as bad usage', async () => {
    assert.match((await swarmctl(['completion', 'zsh'])).out, /^#compdef swarmctl/);
    assert.match((await swarmctl(['completion', 'fish'])).out, /complete -c swarmctl -n '__fish_seen_subcommand_from host' -a add/);
    const bad = await swarmctl(['completion', 'tcsh']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /shell must be bash, zsh or fish/);
  });
});
