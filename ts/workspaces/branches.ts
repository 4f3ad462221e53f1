// Branches of workspaces, and the one rule that keeps reclaim and remove from losing
// work: a branch is deleted only when it has no commits of its own, i.e. every commit on
// it is reachable from some other branch, tag or remote-tracking ref.
import type { RepoContext } from './repo';

export function refOf(branch: string): string {
  return `refs/heads/${branch}`;
}

/** The branch's commit, or undefined when there is no such branch. */
export async function branchTip(repo: RepoContext, branch: string): Promise<string | undefined> {
  const out = await repo.git(['rev-parse', '--verify', '--quiet', `${refOf(branch)}^{commit}`], { allowFailure: true });
  return out.exitCode === 0 ? out.stdout.trim() : undefined;
}

/** How many commits of `branch` no other branch, tag or remote-tracking ref reaches. */
export async function ownCommitCount(repo: RepoContext, branch: string): Promise<number> {
  const out = await repo.git([
    'rev-list',
    '--count',
    refOf(branch),
    '--not',
    `--exclude=${branch}`,
    '--branches',
    '--tags',
    '--remotes',
    '--glob=refs/concurrent-fs/*',
  ]);
  return Number(out.stdout.trim());
}

/**
 * Deletes `branch` if it still has no commits of its own, under the repo lock (checked
 * again there). Returns 'deleted', 'kept' (it has commits of its own) or 'absent'.
 */
export async function deleteBranchIfNoOwnCommits(repo: RepoContext, branch: string): Promise<'deleted' | 'kept' | 'absent'> {
  return repo.withRepoLock(async () => {
    const tip = await branchTip(repo, branch);
    if (tip === undefined) return 'absent';
    if ((await ownCommitCount(repo, branch)) > 0) return 'kept';
    await repo.lockedGit(['branch', '-D', branch]);
    return 'deleted';
  });
}

/** Deletes `branch` whatever it holds (the caller decided), under the repo lock. */
export async function deleteBranch(repo: RepoContext, branch: string): Promise<'deleted' | 'absent'> {
  return repo.withRepoLock(async () => {
    if ((await branchTip(repo, branch)) === undefined) return 'absent';
    await repo.lockedGit(['branch', '-D', branch]);
    return 'deleted';
  });
}
