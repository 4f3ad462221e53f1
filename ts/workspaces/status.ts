// What `list` says about each workspace: whether it is owned now, by whom, and how its
// worktree and branch stand. Reads only, and without git's optional locks: a `git status`
// that refreshes the index would take `index.lock` under a working agent's feet.
import type { WorkspacesContext } from './context';
import type { WorkspaceOwner } from './errors';
import type { WorkspaceRecord } from './records';
import { exists, type Registration } from './worktrees';

/** One workspace as `list()` reports it. */
export interface WorkspaceInfo {
  /** The workspace's name. */
  name: string;
  /** Its worktree's directory. */
  path: string;
  /** Its branch. */
  branch: string;
  /** `active`: a live process owns it; `idle`: free to acquire; `broken`: its worktree is gone or half-made (see reclaim). */
  state: 'active' | 'idle' | 'broken';
  /** The owner, when active. */
  owner?: WorkspaceOwner;
  /** Uncommitted changes (untracked files included). */
  dirty: boolean;
  /** Commits on the branch that its base does not have. */
  ahead: number;
  /** Commits on the base that the branch does not have. */
  behind: number;
  /** What it was created from (as given: `origin/main`, a branch, a commit). */
  base: string;
  /** The commit its branch started from. */
  baseCommit?: string;
  /** The task recorded by `create(name, { task })`. */
  task?: string;
}

const READ_ONLY = { env: { GIT_OPTIONAL_LOCKS: '0' }, allowFailure: true } as const;

async function dirtyFiles(ctx: WorkspacesContext, path: string): Promise<string[]> {
  const out = await ctx.repo.git(['status', '--porcelain=v1', '-z'], { ...READ_ONLY, cwd: path });
  if (out.exitCode !== 0) return [];
  return out.stdout
    .split('\0')
    .filter((entry) => entry.length > 3)
    .map((entry) => entry.slice(3));
}

async function aheadBehind(ctx: WorkspacesContext, record: WorkspaceRecord): Promise<{ ahead: number; behind: number }> {
  for (const base of [record.base, record.baseCommit]) {
    if (base === undefined) continue;
    const out = await ctx.repo.git(['rev-list', '--left-right', '--count', `${base}...refs/heads/${record.branch}`, '--'], READ_ONLY);
    const [behind, ahead] = out.stdout.trim().split(/\s+/).map(Number);
    if (out.exitCode === 0 && behind !== undefined && ahead !== undefined) return { ahead, behind };
  }
  return { ahead: 0, behind: 0 };
}

/** The uncommitted changes in a workspace (relative paths). */
export function changedFiles(ctx: WorkspacesContext, path: string): Promise<string[]> {
  return dirtyFiles(ctx, path);
}

export async function describe(
  ctx: WorkspacesContext,
  record: WorkspaceRecord,
  registration: Registration | undefined,
): Promise<WorkspaceInfo> {
  const owned = await ctx.leases.isOwned(record.name, record);
  const present = registration !== undefined && (await exists(record.path));
  const state = owned ? 'active' : record.state === 'ready' && present ? 'idle' : 'broken';
  const [owner, files, counts] = await Promise.all([
    owned ? ctx.leases.owner(record.name, record) : Promise.resolve(undefined),
    present ? dirtyFiles(ctx, record.path) : Promise.resolve([]),
    aheadBehind(ctx, record),
  ]);
  const info: WorkspaceInfo = {
    name: record.name,
    path: record.path,
    branch: record.branch,
    state,
    dirty: files.length > 0,
    ...counts,
    base: record.base,
  };
  if (owner) info.owner = owner;
  if (record.baseCommit !== undefined) info.baseCommit = record.baseCommit;
  if (record.task !== undefined) info.task = record.task;
  return info;
}
