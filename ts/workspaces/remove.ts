// remove: takes a workspace apart, refusing to lose work unless told. Under its lease
// (a live owner's workspace is never removed): uncommitted changes refuse (unless
// `discardChanges`); the branch is kept if it has commits of its own (`keepBranch:
// 'if-unmerged'`, the default), always (`true`), or deleted (`false`, which refuses
// commits of its own unless `discardChanges`). The record says 'removing' first, so a
// killed remove is finished by the next reclaim exactly as it was asked.
import { invalidArgType, invalidArgValue } from '../errors';
import { deleteBranch, deleteBranchIfNoOwnCommits, ownCommitCount } from './branches';
import type { WorkspacesContext } from './context';
import { crashPoint } from './crash-points';
import { WorkspaceDirtyError } from './errors';
import type { Lease } from './lease';
import type { KeepBranch, WorkspaceRecord } from './records';
import { changedFiles } from './status';
import { deleteDirectory, unregister } from './worktree-ops';
import { exists, linkedWorktrees } from './worktrees';

/** Options of `Workspaces.remove`. */
export interface RemoveOptions {
  /** Remove even with uncommitted changes, or delete a branch with commits of its own. Default false. */
  discardChanges?: boolean;
  /** Keep the branch: `'if-unmerged'` (default: when it has commits no other ref has), `true`, `false`. */
  keepBranch?: KeepBranch;
}

/** What `remove` did. */
export interface RemoveResult {
  /** The workspace's name. */
  name: string;
  /** The branch was kept (see `keepBranch`). */
  branchKept: boolean;
  /** The workspace's branch. */
  branch: string;
}

export function toRemoveOptions(value: unknown): { discardChanges: boolean; keepBranch: KeepBranch } {
  if (value === undefined) return { discardChanges: false, keepBranch: 'if-unmerged' };
  if (typeof value !== 'object' || value === null) throw invalidArgType('options', 'of type object', value);
  const { discardChanges = false, keepBranch = 'if-unmerged' } = value as Record<string, unknown>;
  if (typeof discardChanges !== 'boolean') throw invalidArgType('options.discardChanges', 'of type boolean', discardChanges);
  if (keepBranch !== 'if-unmerged' && typeof keepBranch !== 'boolean') {
    throw invalidArgValue('options.keepBranch', keepBranch, "must be 'if-unmerged', true or false");
  }
  return { discardChanges, keepBranch };
}

async function refuseLostWork(ctx: WorkspacesContext, record: WorkspaceRecord, keepBranch: KeepBranch): Promise<void> {
  if (await exists(record.path)) {
    const files = await changedFiles(ctx, record.path);
    if (files.length > 0) throw new WorkspaceDirtyError(record.name, 'dirty', files);
  }
  if (keepBranch === false && (await ownCommitCount(ctx.repo, record.branch).catch(() => 0)) > 0) {
    throw new WorkspaceDirtyError(record.name, 'unmerged', []);
  }
}

/** Removes the workspace of `record`, whose lease the caller holds. */
export async function removeWorkspace(
  ctx: WorkspacesContext,
  record: WorkspaceRecord,
  lease: Lease,
  options: { discardChanges: boolean; keepBranch: KeepBranch },
): Promise<RemoveResult> {
  if (!options.discardChanges) await refuseLostWork(ctx, record, options.keepBranch);
  await ctx.records.write({ ...record, state: 'removing', keepBranch: options.keepBranch });
  await deleteDirectory(record.path);
  const registered = (await linkedWorktrees(ctx.repo)).some((r) => r.path === record.path);
  if (registered) await unregister(ctx.repo, record.path, lease.descriptors());
  await crashPoint('ws.remove.after-unregister');
  let outcome: string;
  if (options.keepBranch === true) outcome = 'kept';
  else if (options.keepBranch === false) outcome = await deleteBranch(ctx.repo, record.branch);
  else outcome = await deleteBranchIfNoOwnCommits(ctx.repo, record.branch);
  await ctx.records.delete(record.name);
  return { name: record.name, branch: record.branch, branchKept: outcome === 'kept' };
}
