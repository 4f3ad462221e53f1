// Opening the workspaces of a repository: checking `Workspaces.open`'s options, finding
// the repository from any of its worktrees, and making the root the worktrees go to.
import { mkdir, realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { toOptions, toPath, toTimeout } from '../validate';
import type { WorkspacesContext } from './context';
import { toIncludes } from './include';
import { Leases } from './lease';
import { toBranchPrefix, toRevision } from './names';
import { Records, recordsDir } from './records';
import { openRepo, type RepoContext } from './repo';
import type { WorkspacesDeps, WorkspacesOptions } from './workspaces';

const DEFAULT_LOCK_TIMEOUT = 60_000;

/** The main worktree: the directory holding the common dir `.git` (else the one given). */
function mainWorktree(repo: RepoContext): string {
  return basename(repo.commonDir) === '.git' ? dirname(repo.commonDir) : repo.topLevel;
}

async function rootDir(repo: RepoContext, given: string | undefined): Promise<string> {
  const main = mainWorktree(repo);
  const root = given === undefined ? join(dirname(main), `${basename(main)}.workspaces`) : resolve(given);
  await mkdir(root, { recursive: true });
  // git records worktree paths resolved; compare like with like.
  return realpath(root);
}

/** What every operation of the `Workspaces` of the repository containing `repo` works with. */
export async function openContext(deps: WorkspacesDeps, repo: string | URL, options?: WorkspacesOptions): Promise<WorkspacesContext> {
  const opts = toOptions(options);
  const dir = toPath(repo, 'repo');
  const branchPrefix = toBranchPrefix(opts.branchPrefix);
  const base = toRevision(opts.base, 'options.base');
  const include = toIncludes(opts.include);
  const lockTimeout = toTimeout(opts.lockTimeout, 'options.lockTimeout', DEFAULT_LOCK_TIMEOUT);
  const root = opts.root === undefined ? undefined : toPath(opts.root as string | URL, 'options.root');
  const context = await openRepo(dir, { withLock: deps.withLock, lockTimeout });
  const records = new Records(deps.openStore(recordsDir(context.stateRoot)));
  return {
    repo: context,
    root: await rootDir(context, root),
    branchPrefix,
    base,
    include,
    includeFrom: context.topLevel,
    cloneFile: deps.cloneFile,
    records,
    leases: new Leases(context.stateRoot, deps.FileLock, deps.lockStatus, records),
    fetches: deps.openStore(join(context.stateRoot, 'fetches')),
  };
}
