// reclaim: repairs what dead agents and killed git processes leave, without TTLs: a
// leftover is repaired only under its workspace's lease, so only once its owner (and
// every git process the owner started) is gone, and at once when it is. Never while the
// owner lives, and never by deleting a commit: a branch with commits no other ref has is
// kept and reported.
//
// | Found (lease free)                                   | Done                                       |
// |------------------------------------------------------|--------------------------------------------|
// | record 'creating', or our registration, no record    | roll back: directory, registration, branch |
// | record 'removing' (a killed remove)                  | finish the remove as it was asked          |
// | 'ready', registered, directory gone                  | unregister; branch as below                |
// | 'ready', directory there, registration gone          | delete the directory; branch as below      |
// | 'ready', `index.lock` in its admin dir               | delete it (nobody is writing: lease free)  |
// | 'ready', registration unlocked                       | lock it again with our reason              |
// | worktree gone: branch with no commits of its own     | delete branch and record                   |
// | worktree gone: branch with commits of its own        | keep; record 'orphaned', reported in kept  |
//
// Cheap when nothing is wrong: one `git worktree list` and the records; a lease is taken
// only for a name that looks broken, and the facts are read again under it.
import { unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { branchTip, deleteBranch, deleteBranchIfNoOwnCommits, ownCommitCount } from './branches';
import { type WorkspacesContext, workspaceBranch, workspacePath } from './context';
import { type Lease, pidLeaseLive } from './lease';
import type { WorkspaceRecord } from './records';
import { deleteDirectory, relock, unregister } from './worktree-ops';
import { exists, linkedWorktrees, lockReason, nameInLockReason, type Registration } from './worktrees';

/** One leftover reclaim found, and what it did about it. */
export interface ReclaimItem {
  /** The workspace's name. */
  name: string;
  /** What was wrong. */
  kind:
    | 'half-created'
    | 'half-removed'
    | 'missing-directory'
    | 'unregistered-directory'
    | 'stale-index-lock'
    | 'unlocked'
    | 'dangling-branch'
    | 'orphaned-work';
  /** What was done (or, with `dryRun`, would be). */
  action: string;
  /** The worktree's path, when known. */
  path?: string;
  /** The workspace's branch, when known. */
  branch?: string;
}

/** A branch kept because it holds commits nothing else has. */
export interface KeptBranch {
  /** The workspace's name. */
  name: string;
  /** The branch kept. */
  branch: string;
  /** Commits on it that no other branch, tag or remote-tracking ref reaches. */
  commits: number;
}

/** What `reclaim` found and did. */
export interface ReclaimReport {
  /** Nothing was changed: the items say what would have been done. */
  dryRun: boolean;
  /** Every leftover found, with what was done about it. */
  items: ReclaimItem[];
  /** Branches of dead workspaces kept for their commits. */
  kept: KeptBranch[];
  /** Workspaces that looked broken but are owned by a live process: left alone. */
  skipped: string[];
  /** Repairs that failed (the rest went on). */
  errors: {
    /** The workspace's name. */
    name: string;
    /** What failed. */
    message: string;
  }[];
}

/** The facts about one name. */
interface Facts {
  name: string;
  record: WorkspaceRecord | undefined;
  registration: Registration | undefined;
  directory: boolean;
  indexLock: boolean;
}

interface Scan {
  records: Map<string, WorkspaceRecord>;
  registrations: Registration[];
}

async function scan(ctx: WorkspacesContext): Promise<Scan> {
  const [records, registrations] = await Promise.all([ctx.records.all(), linkedWorktrees(ctx.repo)]);
  return { records: new Map(records.map((r) => [r.name, r])), registrations };
}

/**
 * The name a registration belongs to, if it is one of ours: locked with our reason (every
 * worktree we register is, from birth). A worktree someone else put in the root is not
 * ours, whatever its path: reclaim never touches it.
 */
function nameOf(registration: Registration): string | undefined {
  return nameInLockReason(registration.locked);
}

/** The registration of `name`: at its record's path, else one locked with our reason naming it. */
function registrationFor(s: Scan, name: string, record: WorkspaceRecord | undefined): Registration | undefined {
  const atPath = record ? s.registrations.find((r) => r.path === record.path) : undefined;
  return atPath ?? s.registrations.find((r) => nameInLockReason(r.locked) === name);
}

async function factsOf(ctx: WorkspacesContext, s: Scan, name: string): Promise<Facts> {
  const record = s.records.get(name);
  const registration = registrationFor(s, name, record);
  const path = registration?.path ?? record?.path ?? workspacePath(ctx, name);
  const [directory, indexLock] = await Promise.all([
    exists(path),
    registration?.adminDir ? exists(join(registration.adminDir, 'index.lock')) : Promise.resolve(false),
  ]);
  return { name, record, registration, directory, indexLock };
}

/** Whether anything about `f` needs a repair. */
function looksBroken(f: Facts): boolean {
  const state = f.record?.state;
  if (state === undefined) return f.registration !== undefined;
  if (state !== 'ready') return true;
  return !f.registration || !f.directory || f.indexLock || f.registration.locked === undefined;
}

/** Every name that has a record or a registration of ours. */
function candidateNames(s: Scan): string[] {
  const names = new Set(s.records.keys());
  for (const registration of s.registrations) {
    const name = nameOf(registration);
    if (name !== undefined) names.add(name);
  }
  return [...names].sort();
}

/** Repairs every leftover of every workspace whose owner is gone (see the table above). */
export async function reclaimAll(ctx: WorkspacesContext, options: { dryRun?: boolean } = {}): Promise<ReclaimReport> {
  const report: ReclaimReport = { dryRun: options.dryRun === true, items: [], kept: [], skipped: [], errors: [] };
  const first = await scan(ctx);
  for (const name of candidateNames(first)) {
    try {
      const facts = await factsOf(ctx, first, name);
      if (!looksBroken(facts)) continue;
      if (await ctx.leases.isOwned(name, facts.record)) {
        report.skipped.push(name);
        continue;
      }
      const lease = await ctx.leases.tryTake(name);
      if (!lease) {
        report.skipped.push(name);
        continue;
      }
      try {
        await repairName(ctx, name, lease, report);
      } finally {
        lease.release();
      }
    } catch (err) {
      report.errors.push({ name, message: err instanceof Error ? err.message : String(err) });
    }
  }
  return report;
}

/**
 * Repairs the leftovers of `name`, whose lease the caller holds (`create` and `acquire`
 * call this for their own name). Reads the facts afresh.
 */
export async function repairName(ctx: WorkspacesContext, name: string, lease: Lease, report: ReclaimReport): Promise<void> {
  const facts = await factsOf(ctx, await scan(ctx), name);
  // The caller holds the kernel lease; a live pid lease (of another process) still owns it.
  if (facts.record?.pidLease && facts.record.pidLease.pid !== process.pid && pidLeaseLive(facts.record)) {
    report.skipped.push(name);
    return;
  }
  if (!looksBroken(facts)) return;
  const { record, registration } = facts;
  const state = record?.state;
  if (state === undefined || state === 'creating') return rollBack(ctx, facts, lease, report);
  if (state === 'removing') return finishRemove(ctx, facts, lease, report);
  if (state === 'orphaned') return settleOrphan(ctx, facts, report);
  // 'ready'
  if (!registration || !facts.directory) return worktreeGone(ctx, facts, lease, report);
  if (facts.indexLock && registration.adminDir) {
    note(report, { name, kind: 'stale-index-lock', action: 'deleted index.lock', path: registration.path });
    if (!report.dryRun) await unlink(join(registration.adminDir, 'index.lock')).catch(() => undefined);
  }
  if (registration.locked === undefined) {
    note(report, { name, kind: 'unlocked', action: 'locked again', path: registration.path });
    if (!report.dryRun)
      await relock(
        ctx.repo,
        registration.path,
        lockReason(name, record?.owner.pid ?? process.pid, record?.owner.host ?? hostname()),
        lease.descriptors(),
      );
  }
}

function note(report: ReclaimReport, item: ReclaimItem): void {
  report.items.push(item);
}

function branchOf(ctx: WorkspacesContext, f: Facts): string {
  if (f.record) return f.record.branch;
  const ref = f.registration?.branch;
  return ref?.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : workspaceBranch(ctx, f.name);
}

/** Takes the worktree apart: directory, then registration. */
async function takeApart(ctx: WorkspacesContext, f: Facts, lease: Lease): Promise<void> {
  const path = f.registration?.path ?? f.record?.path ?? workspacePath(ctx, f.name);
  await deleteDirectory(path);
  if (f.registration) await unregister(ctx.repo, f.registration.path, lease.descriptors());
}

/** A create that never finished: nothing in it is anyone's work but the branch's commits. */
async function rollBack(ctx: WorkspacesContext, f: Facts, lease: Lease, report: ReclaimReport): Promise<void> {
  const branch = branchOf(ctx, f);
  note(report, { name: f.name, kind: 'half-created', action: 'rolled back', path: f.registration?.path ?? f.record?.path, branch });
  if (report.dryRun) return;
  await takeApart(ctx, f, lease);
  await settleBranch(ctx, f, branch, 'if-unmerged', report);
}

/** A remove that was killed: finish it as it was asked. */
async function finishRemove(ctx: WorkspacesContext, f: Facts, lease: Lease, report: ReclaimReport): Promise<void> {
  const branch = branchOf(ctx, f);
  note(report, { name: f.name, kind: 'half-removed', action: 'removal finished', path: f.record?.path, branch });
  if (report.dryRun) return;
  await takeApart(ctx, f, lease);
  await settleBranch(ctx, f, branch, f.record?.keepBranch ?? 'if-unmerged', report, { keepRecord: false });
}

/** A ready workspace whose directory or registration is gone. */
async function worktreeGone(ctx: WorkspacesContext, f: Facts, lease: Lease, report: ReclaimReport): Promise<void> {
  const branch = branchOf(ctx, f);
  const kind = f.registration ? 'missing-directory' : 'unregistered-directory';
  if (kind === 'missing-directory' || f.directory) {
    note(report, { name: f.name, kind, action: f.registration ? 'unregistered' : 'deleted the directory', path: f.record?.path, branch });
  }
  if (report.dryRun) return;
  await takeApart(ctx, f, lease);
  await settleBranch(ctx, f, branch, 'if-unmerged', report);
}

/** An orphaned workspace: its record goes once its branch has nothing of its own any more. */
async function settleOrphan(ctx: WorkspacesContext, f: Facts, report: ReclaimReport): Promise<void> {
  if (report.dryRun) return;
  await settleBranch(ctx, f, branchOf(ctx, f), 'if-unmerged', report);
}

/**
 * With the worktree gone: deletes the branch unless it must be kept, then the record; a
 * branch kept for its own commits keeps the record too, as 'orphaned' (unless the remove
 * that was asked said to drop it).
 */
async function settleBranch(
  ctx: WorkspacesContext,
  f: Facts,
  branch: string,
  keepBranch: 'if-unmerged' | boolean,
  report: ReclaimReport,
  { keepRecord = true } = {},
): Promise<void> {
  let kept = keepBranch === true && (await branchTip(ctx.repo, branch)) !== undefined;
  if (keepBranch === false) await deleteBranch(ctx.repo, branch);
  else if (keepBranch === 'if-unmerged') {
    const outcome = await deleteBranchIfNoOwnCommits(ctx.repo, branch);
    if (outcome === 'deleted' && f.record?.state !== 'creating' && f.record !== undefined)
      note(report, { name: f.name, kind: 'dangling-branch', action: 'deleted branch', branch });
    kept = outcome === 'kept';
  }
  if (kept) {
    const commits = await ownCommitCount(ctx.repo, branch).catch(() => 0);
    report.kept.push({ name: f.name, branch, commits });
    if (keepRecord && f.record) {
      if (f.record.state !== 'orphaned') note(report, { name: f.name, kind: 'orphaned-work', action: 'kept branch', branch });
      await ctx.records.write({ ...f.record, state: 'orphaned' });
      return;
    }
  }
  await ctx.records.delete(f.name);
}
