// What git has registered: the worktrees (`git worktree list --porcelain -z`) and their
// admin directories `<git-common-dir>/worktrees/<id>/` (the `locked` reason, a stale
// `index.lock`), read straight from the files so that a registration whose directory
// is gone is seen too.
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RepoContext } from './repo';

/** One registered worktree. */
export interface Registration {
  path: string;
  /** `refs/heads/...`, or undefined when detached. */
  branch?: string;
  head?: string;
  /** The lock reason (`''` when locked without one); undefined when not locked. */
  locked?: string;
  /** git's reason to prune it (its directory is gone), when it says so. */
  prunable?: string;
  /** `<git-common-dir>/worktrees/<id>`, when found. */
  adminDir?: string;
}

/**
 * `git worktree list --porcelain -z`, under the repo lock: run beside a `worktree add`
 * it can read the new admin directory half-made and fail ("failed to read
 * .git/worktrees/<id>/commondir"), a git-internal race; every add of ours is made under
 * that lock.
 */
export function listWorktrees(repo: RepoContext) {
  return repo.withRepoLock(() => repo.git(['worktree', 'list', '--porcelain', '-z']));
}

/** Parses `git worktree list --porcelain -z`: records separated by an empty field. */
export function parseWorktreeList(text: string): Registration[] {
  const found: Registration[] = [];
  let current: Registration | undefined;
  for (const field of text.split('\0')) {
    if (field === '') {
      if (current) found.push(current);
      current = undefined;
      continue;
    }
    const space = field.indexOf(' ');
    const [key, value] = space < 0 ? [field, ''] : [field.slice(0, space), field.slice(space + 1)];
    if (key === 'worktree') current = { path: value };
    else if (!current) continue;
    else if (key === 'branch') current.branch = value;
    else if (key === 'HEAD') current.head = value;
    else if (key === 'locked') current.locked = value;
    else if (key === 'prunable') current.prunable = value;
  }
  if (current) found.push(current);
  return found;
}

/** Every registered worktree except the main one, with its admin directory. */
export async function linkedWorktrees(repo: RepoContext): Promise<Registration[]> {
  const out = await listWorktrees(repo);
  const [, ...linked] = parseWorktreeList(out.stdout);
  const admin = await adminDirs(repo.commonDir);
  for (const registration of linked) registration.adminDir = admin.get(registration.path);
  return linked;
}

/** `<worktree path>` -> `<common>/worktrees/<id>`, from each admin dir's `gitdir` file. */
async function adminDirs(commonDir: string): Promise<Map<string, string>> {
  const base = join(commonDir, 'worktrees');
  const ids = await readdir(base).catch(() => [] as string[]);
  const map = new Map<string, string>();
  await Promise.all(
    ids.map(async (id) => {
      const gitdir = await readFile(join(base, id, 'gitdir'), 'utf8').catch(() => undefined);
      if (gitdir !== undefined) map.set(dirname(gitdir.trim()), join(base, id));
    }),
  );
  return map;
}

/** Whether `path` exists (as anything). */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The reason `create` locks a worktree with: names the workspace, so reclaim knows it is ours. */
export function lockReason(name: string, pid: number, host: string): string {
  return `concurrent-fs lease ${name} pid ${pid}@${host}`;
}

/** The workspace a lock reason of ours names, if it is one. */
export function nameInLockReason(reason: string | undefined): string | undefined {
  return reason === undefined ? undefined : /^concurrent-fs lease (\S+) pid /.exec(reason)?.[1];
}
