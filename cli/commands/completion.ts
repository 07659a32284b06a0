// swarmctl completion bash|zsh|fish: shell completion scripts made from the command tree itself, so they never drift.
import type { Command } from 'commander';
import { UsageError } from '../../shared/cli.js';
import type { CliIo } from '../session.js';

interface Node {
  path: string[];
  subcommands: string[];
  options: string[];
}

/** Every command with its subcommand names and long options (global ones included). */
function walk(cmd: Command, path: string[] = [], inherited: string[] = []): Node[] {
  const own = cmd.options.map((o) => o.long).filter((l): l is string => Boolean(l));
  const options = [...new Set([...inherited, ...own, '--help'])];
  const subs = cmd.commands.filter((c) => c.name() !== 'help');
  return [{ path, subcommands: subs.map((c) => c.name()), options }, ...subs.flatMap((c) => walk(c, [...path, c.name()], [...inherited, ...own]))];
}

function bash(name: string, nodes: Node[]): string {
  const fn = `_${name.replace(/[^a-zA-Z0-9]/g, '_')}_complete`;
  const cases = nodes.map((n) => `    "${n.path.join(' ')}") words="${[...n.subcommands, ...n.options].join(' ')}" ;;`).join('\n');
  return `# bash completion for ${name}: eval "$(${name} completion bash)"
${fn}() {
  local cur path="" w i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    case "\${path:+$path }$w" in
${nodes.filter((n) => n.path.length > 0).map((n) => `      "${n.path.join(' ')}") path="${n.path.join(' ')}" ;;`).join('\n')}
    esac
  done
  local words=""
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F ${fn} ${name}
`;
}

function zsh(name: string, nodes: Node[]): string {
  return `#compdef ${name}
# zsh completion for ${name}: ${name} completion zsh > "\${fpath[1]}/_${name}"
autoload -U +X bashcompinit && bashcompinit
${bash(name, nodes).split('\n').slice(1).join('\n')}`;
}

function fish(name: string, nodes: Node[]): string {
  const lines = [`# fish completion for ${name}: ${name} completion fish > ~/.config/fish/completions/${name}.fish`, `complete -c ${name} -f`];
  for (const n of nodes) {
    // fish's __fish_seen_subcommand_from cannot tell depth apart; the path's last word is a good enough anchor.
    const cond = n.path.length === 0 ? '__fish_use_subcommand' : `__fish_seen_subcommand_from ${n.path.at(-1)}`;
    for (const sub of n.subcommands) lines.push(`complete -c ${name} -n '${cond}' -a ${sub}`);
    for (const opt of n.options) lines.push(`complete -c ${name} -n '${cond}' -l ${opt.replace(/^--/, '')}`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerCompletionCommand(program: Command, io: CliIo): void {
  program.command('completion <shell>')
    .description('print a shell completion script (bash, zsh or fish) on stdout')
    .action((shell: string) => {
      const nodes = walk(program);
      const name = program.name();
      if (shell === 'bash') return void io.stdout.write(bash(name, nodes));
      if (shell === 'zsh') return void io.stdout.write(zsh(name, nodes));
      if (shell === 'fish') return void io.stdout.write(fish(name, nodes));
      throw new UsageError(`completion: shell must be bash, zsh or fish, got "${shell}"`);
    });
}
