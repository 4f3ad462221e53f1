// The git admin steps that take a worktree apart, shared by remove and reclaim: delete the
// directory (outside the repo lock, it may be large), then unregister it under the lock.
import { rm } from 'node:fs/promises';
import type { RepoContext } from './repo';
import { linkedWorktrees } from './worktrees';

/** Deletes the worktree's directory; a missing one is fine. */
export async function deleteDirectory(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Unregisters the worktree at `path` (its directory already deleted or not), under the
 * repo lock. `inherit`: the workspace's lease, held by the git processes too.
 */
export async function unregister(repo: RepoContext, path: string, inherit: readonly number[]): Promise<void> {
  await repo.withRepoLock(async () => {
    await repo.lockedGit(['worktree', 'unlock', path], { allowFailure: true, inherit });
    const removed = await repo.lockedGit(['worktree', 'remove', '--force', '--force', path], { allowFailure: true, inherit });
    if (removed.exitCode === 0) return;
    // `remove` refuses some half-made worktrees; unlocked and without a directory, prune takes it.
    if ((await linkedWorktrees(repo)).some((r) => r.path === path)) {
      await repo.lockedGit(['worktree', 'prune', '--expire=now'], { inherit });
    }
  });
}

/** Locks a registered worktree with our reason again (someone unlocked it). */
export async function relock(repo: RepoContext, path: string, reason: string, inherit: readonly number[]): Promise<void> {
  await repo.lockedGit(['worktree', 'lock', '--reason', reason, path], { allowFailure: true, inherit });
}
