// `concurrent-fs git -- ARGS`: any git command, serialised with every other change to the
// repository's shared .git by the workspaces' repo lock (which git inherits, so a git that
// outlives a killed wrapper keeps it). Fetches are coalesced: one fetch serves every caller
// that was waiting for one. Runs where it is started (a workspace, say), or in --repo DIR.
import { resolve } from 'node:path';
import { commandAfterDashes, requireCommand } from './child-command';
import type { Command } from './command';
import { loadImpl } from './impl';
import { noPositionals, parseVerbArgs } from './subcommand';

const USAGE = `Usage: concurrent-fs git [--repo DIR] -- ARGS...

Runs 'git ARGS' holding the repository's repo lock (<git-common-dir>/concurrent-fs/repo.lock),
which every workspace operation that changes the shared .git takes too: worktree add and
remove, branch create and delete, config, fetch. Parallel fetches of the same arguments
coalesce: a fetch that started after this one was asked for and succeeded serves it.
git's output is printed when it ends; stdin is not passed on.

Options:
  --repo DIR   run in DIR (default: the current directory)
  -h, --help   show this help

Exit status: git's; 2 for bad arguments.
`;

export const gitCommand: Command = {
  name: 'git',
  summary: 'run a git command serialised with every workspace operation on the shared .git',
  usage: USAGE,
  async run(argv) {
    const { own, command } = commandAfterDashes(argv);
    const { values, positionals } = parseVerbArgs(own, { repo: { type: 'string' } });
    noPositionals(positionals);
    requireCommand(command);
    const cwd = resolve(values.repo ?? process.cwd());
    const wss = await loadImpl().Workspaces.open(cwd);
    const result = await wss.git(command, { cwd, allowFailure: true });
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    return result.exitCode;
  },
};
