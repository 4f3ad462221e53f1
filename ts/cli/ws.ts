// `concurrent-fs ws`: the Workspaces of a repository from the shell, for agents and the
// hooks that start them. `ws run` is the one that owns a workspace for as long as a
// command runs: COMMAND inherits the workspace's lease (native, as with flock(1)), so it
// stays owned until both this wrapper and COMMAND have ended, however they end.
// `ws create` alone releases the workspace as it exits, unless `--owner-pid` names the
// process that owns it from then on (a pid lease: see docs/workspaces.md).
import { heldDescriptors } from '../held-descriptors';
import { integerArg, onePositional, UsageError } from './args';
import { commandAfterDashes, requireCommand, runChild } from './child-command';
import type { Command } from './command';
import { EXIT_FAILURE, EXIT_TEMPFAIL } from './exit';
import { type Cfs, loadImpl } from './impl';
import { noPositionals, parseVerbArgs, runVerb } from './subcommand';

const USAGE = `Usage: concurrent-fs ws create NAME [--base REF] [--owner-pid PID] [--json] [REPO OPTIONS]
       concurrent-fs ws run NAME [--create] [--base REF] [REPO OPTIONS] -- COMMAND [ARGS...]
       concurrent-fs ws list [--json] [REPO OPTIONS]
       concurrent-fs ws path NAME [REPO OPTIONS]
       concurrent-fs ws remove NAME [--discard] [--keep-branch | --delete-branch] [--json] [REPO OPTIONS]
       concurrent-fs ws reclaim [--dry-run] [--json] [REPO OPTIONS]
       concurrent-fs ws merge NAME [--into BRANCH] [--squash | --rebase | --ff-only] [--check 'CMD'] [--json] [REPO OPTIONS]
       concurrent-fs ws conflicts [--json] [REPO OPTIONS]

A git worktree per agent, on branch <prefix>NAME, in <root>/NAME. Every change to the
shared .git is serialised by one lock in <git-common-dir>/concurrent-fs/; checkouts run
in parallel. A workspace is owned by a lease that dies with its owner: a dead agent's
workspace can be taken over at once, a live one's never.

  create   creates the workspace and prints its path ({name, path, branch} with --json);
           it is free again when this command exits, unless --owner-pid PID owns it
  run      runs COMMAND inside the workspace (created first with --create if missing),
           owning it until COMMAND exits; exports CFS_WORKSPACE, CFS_WORKSPACE_PATH,
           CFS_BRANCH and CFS_STATE_DIR; passes signals on; exits with COMMAND's status
  list     every workspace: state (active, idle, broken), owner, dirty, ahead/behind
  path     prints the workspace's path
  remove   removes the worktree; keeps the branch if it has commits of its own
           (--keep-branch: always; --delete-branch: never, refused for commits of its
           own unless --discard); refuses uncommitted changes unless --discard
  reclaim  repairs what dead agents left (half-made worktrees, stale index.lock, ...);
           never deletes a commit: branches with work of their own are kept and listed
  merge    merges the workspace's branch into BRANCH (default main) through the merge
           queue: conflicts found with no worktree or index touched, CMD (run by sh -c
           in a scratch checkout of the merged tree) must exit 0, then BRANCH moves
           (a merge commit by default; --squash, --rebase, --ff-only); prints the commit
           (the conflicting files, the check's output), the result with --json
  conflicts  pairs of live workspaces whose branches would conflict if both were
           merged, with the files (tab-separated: A B FILE...; [{a, b, files}] with --json)

Repo options:
  --repo DIR           the repository (any of its worktrees; default: the current directory)
  --root DIR           where worktrees go (default <repo>/../<repo-name>.workspaces)
  --branch-prefix P    prefix of the branches (default agent/)
  --include PATH       an ignored file or directory to copy into new workspaces (repeatable)

Options:
  --base REF           what a new workspace branches from (default: the main worktree's HEAD)
  --owner-pid PID      create: process PID owns the workspace while it lives (pid + start
                       time; cannot see that process's children, or other hosts)
  --create             run: create the workspace if it does not exist
  --into BRANCH        merge: the branch to merge into (default main)
  --squash, --rebase, --ff-only
                       merge: one squashed commit; the commits replayed onto BRANCH;
                       only a fast-forward (refused otherwise)
  --check 'CMD'        merge: a shell command that must pass on the merged tree first
  --json               print JSON
  -h, --help           show this help

Exit status: 0; 1 on failure (no such workspace, git failed ...); 2 for bad arguments;
4 when remove refused (uncommitted changes or commits of its own); 75 when a live process
owns the workspace; run: COMMAND's, or 128+N if signal N killed it.
merge: 0 merged or already up to date; 3 conflict (nothing changed); 4 the check failed
(nothing changed); 1 refused (not a fast-forward, BRANCH checked out with changes or
moved outside the queue, unknown branch: the reason on stderr) or another failure.
conflicts: 0 whether or not it found any.
`;

/** remove refused to lose work. */
const EXIT_REFUSED = 4;
/** merge: the branch conflicts with the target. */
const EXIT_CONFLICT = 3;
/** merge: the check failed on the merged tree. */
const EXIT_CHECK_FAILED = 4;

const REPO_OPTIONS = {
  repo: { type: 'string' },
  root: { type: 'string' },
  'branch-prefix': { type: 'string' },
  include: { type: 'string', multiple: true },
} as const;

type RepoValues = { repo?: string; root?: string; 'branch-prefix'?: string; include?: string[] };
type Wss = Awaited<ReturnType<Cfs['Workspaces']['open']>>;

function open(cfs: Cfs, values: RepoValues): Promise<Wss> {
  return cfs.Workspaces.open(values.repo ?? process.cwd(), {
    ...(values.root === undefined ? {} : { root: values.root }),
    ...(values['branch-prefix'] === undefined ? {} : { branchPrefix: values['branch-prefix'] }),
    ...(values.include === undefined ? {} : { include: values.include }),
  });
}

/** The exit status for a workspace error, after saying what it was; rethrows others. */
function statusOf(err: unknown, verb: string): number {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'EBUSY') {
    process.stderr.write(`concurrent-fs ws ${verb}: ${message}\n`);
    return EXIT_TEMPFAIL;
  }
  if (code === 'EMERGEREFUSED') {
    process.stderr.write(`concurrent-fs ws ${verb}: ${message}\n`);
    return EXIT_FAILURE;
  }
  if (code === 'EDIRTY') {
    process.stderr.write(`concurrent-fs ws ${verb}: ${message}\n`);
    return EXIT_REFUSED;
  }
  if (code === 'ERR_INVALID_ARG_VALUE' || code === 'ERR_INVALID_ARG_TYPE') throw new UsageError(message);
  throw err;
}

/** Runs `fn`, turning workspace errors into exit statuses. */
async function guarded(verb: string, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    return statusOf(err, verb);
  }
}

function print(json: boolean | undefined, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : text);
}

async function create(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv, {
    ...REPO_OPTIONS,
    base: { type: 'string' },
    'owner-pid': { type: 'string' },
    json: { type: 'boolean' },
  });
  const name = onePositional(positionals, 'NAME');
  const ownerPid = integerArg(values['owner-pid'], '--owner-pid', { min: 1, max: 2 ** 31 - 1 }, undefined);
  return guarded('create', async () => {
    const wss = await open(loadImpl(), values);
    const ws = await wss.create(name, {
      ...(values.base === undefined ? {} : { base: values.base }),
      ...(ownerPid === undefined ? {} : { ownerPid }),
    });
    print(values.json, { name: ws.name, path: ws.path, branch: ws.branch }, `${ws.path}\n`);
    await ws.release();
    return 0;
  });
}

/** acquire, or with `create` make it when there is none (and acquire after losing a race to make it). */
async function take(wss: Wss, name: string, create: boolean, base: string | undefined) {
  try {
    return await wss.acquire(name);
  } catch (err) {
    if (!create || (err as { code?: unknown }).code !== 'ENOENT') throw err;
  }
  try {
    return await wss.create(name, base === undefined ? {} : { base });
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
    return wss.acquire(name);
  }
}

async function run(argv: readonly string[]): Promise<number> {
  const { own, command } = commandAfterDashes(argv);
  const { values, positionals } = parseVerbArgs(own, {
    ...REPO_OPTIONS,
    base: { type: 'string' },
    create: { type: 'boolean' },
  });
  const name = onePositional(positionals, 'NAME');
  requireCommand(command);
  return guarded('run', async () => {
    const wss = await open(loadImpl(), values);
    const ws = await take(wss, name, values.create === true, values.base);
    try {
      const env = { CFS_WORKSPACE: ws.name, CFS_WORKSPACE_PATH: ws.path, CFS_BRANCH: ws.branch, CFS_STATE_DIR: wss.stateRoot };
      return await runChild('ws run', command, env, heldDescriptors(ws), ws.path);
    } finally {
      await ws.release();
    }
  });
}

async function list(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv, { ...REPO_OPTIONS, json: { type: 'boolean' } });
  noPositionals(positionals);
  const entries = await (await open(loadImpl(), values)).list();
  const rows = entries.map((w) =>
    [
      w.name,
      w.state,
      w.branch,
      w.owner ? `${w.owner.pid}@${w.owner.host}` : '-',
      w.dirty ? 'dirty' : 'clean',
      `+${w.ahead}/-${w.behind}`,
      w.path,
    ].join('\t'),
  );
  print(values.json, entries, rows.length ? `${rows.join('\n')}\n` : '');
  return 0;
}

async function path(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv, REPO_OPTIONS);
  const name = onePositional(positionals, 'NAME');
  return guarded('path', async () => {
    const record = await (await open(loadImpl(), values)).record(name);
    if (!record || (record.state !== 'ready' && record.state !== 'creating')) {
      process.stderr.write(`concurrent-fs ws path: no workspace '${name}'\n`);
      return EXIT_FAILURE;
    }
    process.stdout.write(`${record.path}\n`);
    return 0;
  });
}

async function remove(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv, {
    ...REPO_OPTIONS,
    discard: { type: 'boolean' },
    'keep-branch': { type: 'boolean' },
    'delete-branch': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const name = onePositional(positionals, 'NAME');
  if (values['keep-branch'] && values['delete-branch']) throw new UsageError('--keep-branch and --delete-branch exclude each other');
  const keepBranch = values['keep-branch'] ? true : values['delete-branch'] ? false : 'if-unmerged';
  return guarded('remove', async () => {
    const result = await (await open(loadImpl(), values)).remove(name, { discardChanges: values.discard === true, keepBranch });
    print(values.json, result, result.branchKept ? `removed ${name}; kept branch ${result.branch}\n` : `removed ${name}\n`);
    return 0;
  });
}

async function reclaim(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv, { ...REPO_OPTIONS, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } });
  noPositionals(positionals);
  const report = await (await open(loadImpl(), values)).reclaim({ dryRun: values['dry-run'] === true });
  const lines = [
    ...report.items.map((i) => `${i.name}\t${i.kind}\t${report.dryRun ? `would be ${i.action}` : i.action}`),
    ...report.kept.map((k) => `${k.name}\tkept branch ${k.branch} (${k.commits} commit${k.commits === 1 ? '' : 's'} of its own)`),
    ...report.errors.map((e) => `${e.name}\terror: ${e.message}`),
  ];
  print(values.json, report, lines.length ? `${lines.join('\n')}\n` : '');
  return report.errors.length ? EXIT_FAILURE : 0;
}

type Strategy = 'merge' | 'squash' | 'rebase' | 'ff-only';

/** The strategy the flags name (at most one of them). */
function strategyOf(values: { squash?: boolean; rebase?: boolean; 'ff-only'?: boolean }): Strategy {
  const chosen = (['squash', 'rebase', 'ff-only'] as const).filter((flag) => values[flag] === true);
  if (chosen.length > 1) throw new UsageError(`${chosen.map((f) => `--${f}`).join(' and ')} exclude each other`);
  return chosen[0] ?? 'merge';
}

async function merge(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv, {
    ...REPO_OPTIONS,
    into: { type: 'string' },
    squash: { type: 'boolean' },
    rebase: { type: 'boolean' },
    'ff-only': { type: 'boolean' },
    check: { type: 'string' },
    json: { type: 'boolean' },
  });
  const name = onePositional(positionals, 'NAME');
  const strategy = strategyOf(values);
  if (values.check === '') throw new UsageError('--check needs a command');
  return guarded('merge', async () => {
    const result = await (await open(loadImpl(), values)).merge(name, {
      strategy,
      ...(values.into === undefined ? {} : { into: values.into }),
      ...(values.check === undefined ? {} : { check: ['sh', '-c', values.check] }),
    });
    const into = values.into ?? 'main';
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    switch (result.status) {
      case 'merged':
        if (!values.json) process.stdout.write(`${result.commit}\n`);
        return 0;
      case 'up-to-date':
        if (!values.json) process.stdout.write(`${into} is up to date with ${name}\n`);
        return 0;
      case 'conflict':
        if (!values.json) process.stdout.write(result.files.map((f) => `${f}\n`).join(''));
        process.stderr.write(`concurrent-fs ws merge: ${name} conflicts with ${into} in ${result.files.length} file(s); nothing changed\n`);
        return EXIT_CONFLICT;
      case 'check-failed':
        if (!values.json) process.stdout.write(result.output);
        process.stderr.write(`concurrent-fs ws merge: the check failed (exit ${result.exitCode ?? 'by a signal'}); ${into} not moved\n`);
        return EXIT_CHECK_FAILED;
    }
  });
}

async function conflicts(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv, { ...REPO_OPTIONS, json: { type: 'boolean' } });
  noPositionals(positionals);
  const found = await (await open(loadImpl(), values)).conflicts();
  const lines = found.map((c) => [c.a, c.b, ...c.files].join('\t'));
  print(values.json, found, lines.length ? `${lines.join('\n')}\n` : '');
  return 0;
}

export const ws: Command = {
  name: 'ws',
  summary: 'git worktrees for agents: create, run a command in one, list, remove, reclaim, merge',
  usage: USAGE,
  run: (argv) => runVerb({ create, run, list, path, remove, reclaim, merge, conflicts }, argv),
};
