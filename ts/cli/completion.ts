// `concurrent-fs completion bash|zsh|fish`: prints a completion script for the commands
// and their flags. The flags are read from each command's --help text, so a new command
// or flag is completed without being listed a second time here.
import { choiceArg, parseCommandArgs, UsageError } from './args';
import type { Command } from './command';
import { Output } from './output';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];
const SUMMARY = 'print a shell completion script (bash, zsh or fish)';

const USAGE = `Usage: concurrent-fs completion bash|zsh|fish

Prints a completion script for the shell: command names, each command's flags, and
file names elsewhere.

  bash:  source <(concurrent-fs completion bash)            (e.g. in ~/.bashrc)
  zsh:   source <(concurrent-fs completion zsh)             (after compinit, in ~/.zshrc)
  fish:  concurrent-fs completion fish > ~/.config/fish/completions/concurrent-fs.fish

Options:
  -h, --help  show this help

Exit status: 0 printed; 2 for bad arguments.
`;

/** A command other than `completion` itself, which each script completes by hand. */
interface Completable {
  name: string;
  summary: string;
  flags: string[];
}

/** Every `-x` and `--long-flag` a usage text mentions, in order of first mention. */
export function flagsOf(usage: string): string[] {
  const found = usage.matchAll(/(?:^|[\s[(|,/])(--?[a-zA-Z][a-zA-Z-]*)/gm);
  return [...new Set([...found].map((m) => m[1] as string))];
}

/** A word of a generated script: the flags and names are [-a-z] only; summaries need quoting. */
function singleQuoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function bash(commands: readonly Completable[]): string {
  const cases = commands.map((c) => `    ${c.name}) words=${singleQuoted(c.flags.join(' '))} ;;`);
  return `# concurrent-fs completion for bash. Load it with: source <(concurrent-fs completion bash)
_concurrent_fs() {
  local cur=\${COMP_WORDS[COMP_CWORD]} words=''
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W ${singleQuoted(`${commands.map((c) => c.name).join(' ')} completion --help --version`)} -- "$cur"))
    return
  fi
  case \${COMP_WORDS[1]} in
    completion) COMPREPLY=($(compgen -W '${SHELLS.join(' ')}' -- "$cur")); return ;;
${cases.join('\n')}
  esac
  # Anything else is left to bash's default (file names), as -o default says.
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$words" -- "$cur")); fi
}
complete -o default -F _concurrent_fs concurrent-fs
`;
}

function zsh(commands: readonly Completable[]): string {
  const described = [...commands, { name: 'completion', summary: SUMMARY }].map((c) => `    ${singleQuoted(`${c.name}:${c.summary}`)}`);
  const cases = commands.map((c) => `    ${c.name}) flags=(${c.flags.join(' ')}) ;;`);
  return `#compdef concurrent-fs
# concurrent-fs completion for zsh. Load it with: source <(concurrent-fs completion zsh)
# (after compinit), or save it as _concurrent-fs in a directory of $fpath.
_concurrent_fs() {
  local -a commands flags
  commands=(
${described.join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case $words[2] in
    completion) compadd ${SHELLS.join(' ')}; return ;;
${cases.join('\n')}
  esac
  if [[ $PREFIX == -* ]]; then compadd -- $flags; else _files; fi
}
if [[ $funcstack[1] == _concurrent-fs ]]; then _concurrent_fs "$@"; else compdef _concurrent_fs concurrent-fs; fi
`;
}

function fish(commands: readonly Completable[]): string {
  const lines = ['# concurrent-fs completion for fish. Save it as ~/.config/fish/completions/concurrent-fs.fish'];
  for (const c of commands) {
    lines.push(`complete -c concurrent-fs -f -n __fish_use_subcommand -a ${c.name} -d ${singleQuoted(c.summary)}`);
    const when = `-n '__fish_seen_subcommand_from ${c.name}'`;
    for (const flag of c.flags) {
      lines.push(`complete -c concurrent-fs ${when} ${flag.startsWith('--') ? `-l ${flag.slice(2)}` : `-s ${flag.slice(1)}`}`);
    }
  }
  lines.push(`complete -c concurrent-fs -f -n __fish_use_subcommand -a completion -d ${singleQuoted(SUMMARY)}`);
  lines.push(`complete -c concurrent-fs -f -n '__fish_seen_subcommand_from completion' -a '${SHELLS.join(' ')}'`);
  return `${lines.join('\n')}\n`;
}

const SCRIPTS: Record<Shell, (commands: readonly Completable[]) => string> = { bash, zsh, fish };

/** The `completion` command over the CLI's commands (a function: the list includes this command). */
export function completion(commands: () => readonly Command[]): Command {
  async function run(argv: readonly string[]): Promise<number> {
    const { positionals } = parseCommandArgs(argv, {});
    if (positionals.length !== 1)
      throw new UsageError(positionals.length === 0 ? 'missing SHELL' : `unexpected argument '${positionals[1]}'`);
    const shell = choiceArg(positionals[0], 'SHELL', SHELLS, undefined) as Shell;
    const completable = commands()
      .filter((c) => c.name !== 'completion')
      .map((c) => ({ name: c.name, summary: c.summary, flags: flagsOf(c.usage) }));
    await new Output().write(SCRIPTS[shell](completable));
    return 0;
  }
  return { name: 'completion', summary: SUMMARY, usage: USAGE, run };
}
