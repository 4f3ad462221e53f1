// Git's own lock files (`<ref>.lock`, `index.lock`) left behind by a git process killed
// while it held one (SIGKILL skips git's cleanup). A live git holds such a lock for
// milliseconds. The library looks at one only while holding the repo lock (under which
// every git of ours that changes shared refs runs, so none of ours can be holding it)
// and only after its own git has waited a second for it (core.filesRefLockTimeout=1000).
// A lock file that old then is a dead process's: removing it is what git's own message
// tells a user to do by hand. A foreign git stuck for longer than that inside one ref
// update is what this cannot tell apart.
import { stat, unlink } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { isSystemError } from '../errors';

/** Older than this (after a git waited for it that long), a git lock file is nobody's. */
export const STALE_AFTER_MS = 1000;

/** Removes `lockPath` if it exists and is older than STALE_AFTER_MS; true when it did. */
export async function removeStaleGitLock(lockPath: string, now = Date.now()): Promise<boolean> {
  try {
    const { mtimeMs } = await stat(lockPath);
    if (now - mtimeMs < STALE_AFTER_MS) return false;
    await unlink(lockPath);
    return true;
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return false;
    throw err;
  }
}

/** git's options that make it wait up to STALE_AFTER_MS for a ref's lock file before it refuses. */
export const WAIT_FOR_REF_LOCKS = ['-c', `core.filesRefLockTimeout=${STALE_AFTER_MS}`];

/**
 * After a git run with WAIT_FOR_REF_LOCKS failed: removes the lock file it was refused
 * for (`Unable to create '<path>.lock': File exists`) if that is stale; true when it did,
 * and the run can be tried once more.
 */
export async function removeStaleLockRefusing(stderr: string, repo: { commonDir: string; topLevel: string }): Promise<boolean> {
  const named = /Unable to create '([^']+\.lock)': File exists/.exec(stderr)?.[1];
  if (named === undefined) return false;
  // git ran in the top level; only its own lock files, in the common dir, are ever removed.
  const lockPath = resolve(repo.topLevel, named);
  if (!lockPath.startsWith(`${resolve(repo.commonDir)}${sep}`)) return false;
  return removeStaleGitLock(lockPath);
}
