// create: a new worktree on a new branch, owned by the caller from the first step.
//
// 1. The lease (fails fast with WorkspaceBusyError if a live process owns the name), then
//    the record, state 'creating', so whatever a kill leaves from here on is known ours.
// 2. Under the repo lock, only the registration: `git worktree add --no-checkout --lock
//    --reason "concurrent-fs lease <name> pid <pid>@<host>" -b <branch> <path> <base>`,
//    which writes `.git/config` (upstream tracking), the branch and the admin dir: the
//    part that fails when run in parallel. Locked from birth: no gc or prune of any tool
//    removes it.
// 3. Outside the lock, in parallel with other creates: the checkout (`git reset --hard`)
//    and the `include` copies. Every git child inherits the lease.
// 4. The record, state 'ready'.
// A failure rolls back what this call made (as reclaim would) and rethrows.
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { invalidArgType, outOfRange, systemError } from '../errors';
import { identifyProcess, type Owner, selfOwner } from '../js/lock/owner';
import { branchTip } from './branches';
import { type WorkspacesContext, workspaceBranch, workspacePath } from './context';
import { crashPoint } from './crash-points';
import { WorkspaceExistsError } from './errors';
import { GitError, runGit } from './git';
import { copyIncludes } from './include';
import type { Lease } from './lease';
import { toRevision } from './names';
import { type ReclaimReport, repairName } from './reclaim';
import type { WorkspaceRecord } from './records';
import { removeStaleLockRefusing, WAIT_FOR_REF_LOCKS } from './stale-git-lock';
import { exists, lockReason } from './worktrees';

/** Options of `Workspaces.create`. */
export interface CreateOptions {
  /** What to branch from (`origin/main`, a branch, a commit). Default: the `Workspaces`' `base`, else the main worktree's HEAD. */
  base?: string;
  /** Recorded with the workspace (e.g. a TaskQueue task ID). */
  task?: string;
  /**
   * A pid lease: the workspace stays owned while process `ownerPid` lives, after this
   * process has exited (for hooks that print a path and exit). See docs/workspaces.md for
   * what a pid cannot prove.
   */
  ownerPid?: number;
}

export function toCreateOptions(value: unknown): { base?: string; task?: string; ownerPid?: number } {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) throw invalidArgType('options', 'of type object', value);
  const { base, task, ownerPid } = value as Record<string, unknown>;
  const result: { base?: string; task?: string; ownerPid?: number } = {};
  const revision = toRevision(base, 'options.base');
  if (revision !== undefined) result.base = revision;
  if (task !== undefined) {
    if (typeof task !== 'string') throw invalidArgType('options.task', 'of type string', task);
    result.task = task;
  }
  if (ownerPid !== undefined) {
    if (typeof ownerPid !== 'number') throw invalidArgType('options.ownerPid', 'of type number', ownerPid);
    if (!Number.isInteger(ownerPid) || ownerPid < 1) throw outOfRange('options.ownerPid', 'a positive integer', ownerPid);
    result.ownerPid = ownerPid;
  }
  return result;
}

/** The main worktree's HEAD: its branch name if on one (so tracking follows it), else its commit. */
async function defaultBase(ctx: WorkspacesContext): Promise<string> {
  const gitDir = ['--git-dir', ctx.repo.commonDir];
  const branch = await ctx.repo.git([...gitDir, 'symbolic-ref', '-q', '--short', 'HEAD'], { allowFailure: true });
  if (branch.exitCode === 0 && branch.stdout.trim()) return branch.stdout.trim();
  return (await ctx.repo.git([...gitDir, 'rev-parse', '--verify', 'HEAD^{commit}'])).stdout.trim();
}

function pidLeaseFor(pid: number): Owner {
  const owner = identifyProcess(pid);
  if (!owner) throw systemError({ code: 'ESRCH', syscall: 'kill', message: `ESRCH: no process ${pid} (options.ownerPid)` });
  return owner;
}

/** Registers the worktree under the repo lock; returns the branch's first commit. */
async function register(ctx: WorkspacesContext, record: WorkspaceRecord, lease: Lease): Promise<string> {
  const reason = lockReason(record.name, process.pid, hostname());
  return ctx.repo.withRepoLock(async () => {
    const reuse = (await branchTip(ctx.repo, record.branch)) !== undefined;
    const where = reuse ? [record.path, record.branch] : ['-b', record.branch, record.path, record.base];
    const args = [...WAIT_FOR_REF_LOCKS, 'worktree', 'add', '--no-checkout', '--lock', '--reason', reason, ...where];
    const add = () => ctx.repo.lockedGit(args, { inherit: lease.descriptors(), allowFailure: true });
    const adding = add();
    await crashPoint('ws.create.mid-register');
    let added = await adding;
    // A git killed while it created this branch left the ref's lock file (git has waited a second for it).
    if (added.exitCode !== 0 && (await removeStaleLockRefusing(added.stderr, ctx.repo))) added = await add();
    if (added.exitCode !== 0) throw new GitError(args, ctx.repo.topLevel, added.exitCode, added.stdout, added.stderr);
    await crashPoint('ws.create.after-register');
    const tip = (await branchTip(ctx.repo, record.branch)) as string;
    if (!reuse) return tip;
    // An existing branch (a dead workspace's kept work) is checked out again: it began where it meets the base.
    const fork = await ctx.repo.git(['merge-base', tip, record.base], { allowFailure: true });
    return fork.exitCode === 0 ? fork.stdout.trim() : tip;
  });
}

/** Checks the files out and copies the includes, outside the repo lock. */
async function populate(ctx: WorkspacesContext, record: WorkspaceRecord, lease: Lease): Promise<void> {
  const checkout = runGit(['reset', '--hard', '--quiet', '--no-recurse-submodules'], { cwd: record.path, inherit: lease.descriptors() });
  await crashPoint('ws.create.mid-checkout');
  await checkout;
  if (ctx.include.length > 0) await copyIncludes(ctx.includeFrom, record.path, ctx.include, ctx.cloneFile);
}

/**
 * Creates workspace `name`, holding `lease` (already claimed by the caller, with the record
 * it found). Resolves to the ready record; on failure rolls back what it made.
 */
export async function createWorkspace(
  ctx: WorkspacesContext,
  name: string,
  lease: Lease,
  found: WorkspaceRecord | undefined,
  options: { base?: string; task?: string; ownerPid?: number },
): Promise<WorkspaceRecord> {
  await crashPoint('ws.create.after-lease');
  if (found) {
    const report: ReclaimReport = { dryRun: false, items: [], kept: [], skipped: [], errors: [] };
    await repairName(ctx, name, lease, report);
    const left = await ctx.records.read(name);
    if (left && left.state !== 'orphaned') throw new WorkspaceExistsError(name, left.path);
  }
  const path = workspacePath(ctx, name);
  if (await exists(path)) throw new WorkspaceExistsError(name, path);
  const record: WorkspaceRecord = {
    version: 1,
    name,
    path,
    branch: workspaceBranch(ctx, name),
    base: options.base ?? ctx.base ?? (await defaultBase(ctx)),
    state: 'creating',
    owner: selfOwner(),
    createdAt: new Date().toISOString(),
  };
  if (options.ownerPid !== undefined) record.pidLease = pidLeaseFor(options.ownerPid);
  if (options.task !== undefined) record.task = options.task;
  await mkdir(ctx.root, { recursive: true });
  await ctx.records.write(record);
  try {
    record.baseCommit = await register(ctx, record, lease);
    await populate(ctx, record, lease);
    await crashPoint('ws.create.before-record');
    return await ctx.records.write({ ...record, state: 'ready' });
  } catch (err) {
    const report: ReclaimReport = { dryRun: false, items: [], kept: [], skipped: [], errors: [] };
    await repairName(ctx, name, lease, report).catch(() => undefined);
    throw err;
  }
}
