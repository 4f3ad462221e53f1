// Workspaces: a git worktree per agent on one repository, with one serialised path
// through the shared `.git` and recovery from dead agents (see docs/workspaces.md).
//
// Layout, all inside `<git-common-dir>/concurrent-fs/` (found from any worktree, nothing
// tracked): `repo.lock` (every change to the shared .git), `leases/<name>.lock` (a
// workspace's owner), `workspaces/<name>.json` (its record), `fetches/` (coalesced
// fetches), `state/` (the shared `store`), and whatever `dir(name)` hands out. Worktrees
// go to `<root>/<name>`, default `<repo>/../<repo-name>.workspaces/`.
import { join, resolve } from 'node:path';
import type { CopyMethod } from '../backend';
import { invalidArgType, invalidArgValue } from '../errors';
import { selfOwner } from '../js/lock/owner';
import type { FileLockConstructor } from '../lock';
import type { LockStatus } from '../lock-status';
import type { ConcurrentFileStoreBase } from '../store';
import { toOptions, toPath } from '../validate';
import { type BranchConflict, findConflicts } from './conflicts';
import type { WorkspacesContext } from './context';
import { type CreateOptions, createWorkspace, toCreateOptions } from './create';
import { WorkspaceNotFoundError } from './errors';
import { coalescedFetch, isFetch } from './fetch';
import type { GitResult, RunGitOptions } from './git';
import type { Lease } from './lease';
import { type MergeOptions as MergeBranchOptions, type MergeResult, type MergeStrategy, mergeBranch } from './merge';
import { toWorkspaceName } from './names';
import { openContext } from './open';
import { type ReclaimReport, reclaimAll, repairName } from './reclaim';
import type { WorkspaceRecord } from './records';
import { type RemoveOptions, type RemoveResult, removeWorkspace, toRemoveOptions } from './remove';
import type { WithLock } from './repo';
import { describe, type WorkspaceInfo } from './status';
import { Workspace } from './workspace';
import { linkedWorktrees } from './worktrees';

/** Options of `Workspaces.open`. */
export interface WorkspacesOptions {
  /** Where worktrees go. Default `<repo>/../<repo-name>.workspaces`. */
  root?: string | URL;
  /** Prefix of the workspaces' branches. Default `'agent/'`. */
  branchPrefix?: string;
  /** What new workspaces branch from. Default: the main worktree's HEAD. */
  base?: string;
  /** Ignored files (or directories) to copy into new workspaces, relative to the repository (e.g. `'.env'`). */
  include?: string[];
  /** Longest wait for the repo lock, ms. Default 60000. */
  lockTimeout?: number;
}

/** Options of `Workspaces.git`. */
export interface WorkspacesGitOptions {
  /** Where git runs (a workspace's path, say). Default: the repository `open` was given. */
  cwd?: string;
  /** Resolve with a non-zero `exitCode` instead of rejecting with GitError. */
  allowFailure?: boolean;
  /** Written to git's stdin. */
  input?: string;
  /** Extra environment for git (merged over `process.env`). */
  env?: Record<string, string>;
}

/** Options of `Workspaces.merge`. */
export interface MergeOptions {
  /** The branch to merge into. Default `'main'`. */
  into?: string;
  /**
   * `'merge'` (default): a merge commit; `'squash'`: one commit with the branch's changes;
   * `'rebase'`: the branch's commits replayed onto the target (git 2.40+);
   * `'ff-only'`: a fast-forward, else `MergeRefusedError` (`reason: 'not-fast-forward'`).
   */
  strategy?: MergeStrategy;
  /**
   * A command (argv, no shell) that must exit 0 on the merged tree before the target
   * moves, run in a scratch worktree with `CFS_MERGE_COMMIT`, `CFS_MERGE_BRANCH` and
   * `CFS_MERGE_TARGET` set.
   */
  check?: string[];
  /** The commit message of `'merge'` and `'squash'`. */
  message?: string;
  /** Longest wait in ms for the merges into the same target queued before this one. Default: no limit. */
  queueTimeout?: number;
  /** Aborts the wait in the queue, the check, and the merge before the target moves. */
  signal?: AbortSignal;
}

/** Two workspaces whose branches would conflict if both were merged, and the files they fight over. */
export interface WorkspaceConflict {
  /** A workspace name. */
  readonly a: string;
  /** The other workspace's name. */
  readonly b: string;
  /** The paths both branches changed in ways that do not merge. */
  readonly files: string[];
}

/** Where `merge`'s scratch worktrees for `check` go, inside the root (no workspace name starts with '.'). */
const MERGE_SCRATCH = '.merge-scratch';

function toComponent(value: unknown, label: string): string {
  if (typeof value !== 'string') throw invalidArgType(label, 'of type string', value);
  if (value === '' || value === '.' || value === '..' || /[/\\\0]/.test(value)) {
    throw invalidArgValue(label, value, "must be a single path component (not empty, no '/', '\\' or NUL, not '.' or '..')");
  }
  return value;
}

/** What Workspaces is built on (see `createWorkspacesApi`). */
export interface WorkspacesDeps {
  FileLock: FileLockConstructor;
  withLock: WithLock;
  lockStatus: (path: string) => Promise<LockStatus>;
  openStore: (dir: string) => ConcurrentFileStoreBase;
  /** The backend's atomic, reflinking copy (for `include`). */
  cloneFile: (src: string, dest: string) => Promise<CopyMethod>;
}

/** The `Workspaces` class users get: `Workspaces.open(repo, options)`. */
export interface WorkspacesConstructor {
  /** Opens the workspaces of the repository containing `repo` (any of its worktrees). */
  open(repo: string | URL, options?: WorkspacesOptions): Promise<WorkspacesBase>;
}

/**
 * The git worktrees of one repository, one per agent (the type of a `Workspaces`).
 * @example
 * const wss: Workspaces = await Workspaces.open('.');
 * await using ws = await wss.create('alice');
 */
export abstract class WorkspacesBase {
  /** The repository's `<git-common-dir>/concurrent-fs`. */
  readonly stateRoot: string;
  /** Where worktrees go. */
  readonly root: string;
  /** A ConcurrentFileStore shared by every workspace of the repository (`<stateRoot>/state`). */
  readonly store: ConcurrentFileStoreBase;
  readonly #ctx: WorkspacesContext;
  /** Leases this object holds, by name (for `remove` of a workspace it owns). */
  readonly #held = new Map<string, Lease>();

  protected constructor(deps: WorkspacesDeps, ctx: WorkspacesContext) {
    this.#ctx = ctx;
    this.stateRoot = ctx.repo.stateRoot;
    this.root = ctx.root;
    this.store = deps.openStore(join(ctx.repo.stateRoot, 'state'));
  }

  /**
   * Creates workspace `name` (a new worktree on branch `<branchPrefix><name>`) and owns
   * it until `release()`. Rejects with WorkspaceBusyError if a live process owns the
   * name, WorkspaceExistsError (`EEXIST`) if it exists (use `acquire`).
   */
  async create(name: string, options?: CreateOptions): Promise<Workspace> {
    const valid = toWorkspaceName(name);
    const opts = toCreateOptions(options);
    await this.reclaim();
    const { lease, record } = await this.#ctx.leases.claim(valid);
    try {
      const ready = await createWorkspace(this.#ctx, valid, lease, record, opts);
      return this.#handle(ready, lease);
    } catch (err) {
      lease.release();
      throw err;
    }
  }

  /** Takes over existing workspace `name` whose owner is gone. WorkspaceBusyError while it lives. */
  async acquire(name: string): Promise<Workspace> {
    const valid = toWorkspaceName(name);
    const { lease, record } = await this.#ctx.leases.claim(valid);
    try {
      if (!record) throw new WorkspaceNotFoundError(valid);
      const report: ReclaimReport = { dryRun: false, items: [], kept: [], skipped: [], errors: [] };
      await repairName(this.#ctx, valid, lease, report);
      const repaired = await this.#ctx.records.read(valid);
      if (repaired?.state !== 'ready') throw new WorkspaceNotFoundError(valid);
      const { pidLease: _dead, ...rest } = repaired;
      const owned = await this.#ctx.records.write({ ...rest, owner: selfOwner() });
      return this.#handle(owned, lease);
    } catch (err) {
      lease.release();
      throw err;
    }
  }

  /** Every workspace (after a reclaim): state, owner, dirty, ahead/behind its base. */
  async list(): Promise<WorkspaceInfo[]> {
    await this.reclaim();
    const [records, registrations] = await Promise.all([this.#ctx.records.all(), linkedWorktrees(this.#ctx.repo)]);
    records.sort((a, b) => a.name.localeCompare(b.name));
    return Promise.all(
      records.map((record) =>
        describe(
          this.#ctx,
          record,
          registrations.find((r) => r.path === record.path),
        ),
      ),
    );
  }

  /**
   * Removes workspace `name` (worktree, record and, unless kept, branch). Refuses a live
   * owner's (WorkspaceBusyError) and one with uncommitted changes (WorkspaceDirtyError)
   * unless `discardChanges`. A workspace this object holds is released by it.
   */
  async remove(name: string, options?: RemoveOptions): Promise<RemoveResult> {
    const valid = toWorkspaceName(name);
    const opts = toRemoveOptions(options);
    const own = this.#held.get(valid);
    const { lease, record } = own ? { lease: own, record: await this.#ctx.records.read(valid) } : await this.#ctx.leases.claim(valid);
    try {
      if (!record) throw new WorkspaceNotFoundError(valid);
      return await removeWorkspace(this.#ctx, record, lease, opts);
    } finally {
      lease.release();
      this.#held.delete(valid);
    }
  }

  /**
   * Merges workspace `name`'s branch into `options.into` (default `'main'`) through the
   * merge queue: conflicts decided by `git merge-tree` with no worktree or index touched,
   * `check` run on the merged tree, the target moved by compare-and-swap (or fast-forwarded
   * where it is checked out and clean). Merges into one target run one at a time, each
   * exactly once. Rejects with WorkspaceNotFoundError for an unknown name,
   * MergeRefusedError when the merge cannot be done as asked.
   */
  async merge(name: string, options?: MergeOptions): Promise<MergeResult> {
    const valid = toWorkspaceName(name);
    const opts = toOptions(options) as MergeOptions;
    const record = await this.#ctx.records.read(valid);
    if (record?.state !== 'ready') throw new WorkspaceNotFoundError(valid);
    const merge: MergeBranchOptions = { ...opts, branch: record.branch, scratchDir: join(this.root, MERGE_SCRATCH) };
    return mergeBranch(this.#ctx.repo, merge);
  }

  /**
   * The pairs of live workspaces (those `list()` reports, broken ones left out) whose
   * branches would conflict if both were merged, found with `git merge-tree` (only
   * objects are written), in name order.
   */
  async conflicts(): Promise<WorkspaceConflict[]> {
    const live = (await this.list()).filter((w) => w.state !== 'broken');
    const found: BranchConflict[] = await findConflicts(
      this.#ctx.repo,
      live.map((w) => ({ name: w.name, branch: w.branch })),
    );
    return found.map(({ a, b, files }) => ({ a, b, files }));
  }

  /** Repairs what dead agents and killed git processes left (see docs/workspaces.md); never deletes a commit. */
  async reclaim(options?: { dryRun?: boolean }): Promise<ReclaimReport> {
    const dryRun = toOptions(options).dryRun;
    if (dryRun !== undefined && typeof dryRun !== 'boolean') throw invalidArgType('options.dryRun', 'of type boolean', dryRun);
    return reclaimAll(this.#ctx, { dryRun: dryRun === true });
  }

  /**
   * Runs any git command serialised with every other git admin operation of the
   * repository (under the repo lock, which git inherits). Fetches are coalesced: one
   * fetch serves every caller that was waiting for one.
   */
  async git(args: readonly string[], options?: WorkspacesGitOptions): Promise<GitResult> {
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw invalidArgType('args', 'an array of strings', args);
    const opts = toOptions(options) as WorkspacesGitOptions;
    const run: Partial<RunGitOptions> = {};
    if (opts.cwd !== undefined) run.cwd = resolve(toPath(opts.cwd, 'options.cwd'));
    if (opts.allowFailure !== undefined) run.allowFailure = opts.allowFailure;
    if (opts.input !== undefined) run.input = opts.input;
    if (opts.env !== undefined) run.env = opts.env;
    if (isFetch(args)) {
      const { coalesced: _, ...result } = await coalescedFetch(this.#ctx.repo, this.#ctx.fetches, args, run);
      return result;
    }
    return this.#ctx.repo.lockedGit(args, run);
  }

  /** A directory of the repository's shared state, `<git-common-dir>/concurrent-fs/<name>` (not created). */
  dir(name: string): string {
    return join(this.stateRoot, toComponent(name, 'name'));
  }

  /** The record of workspace `name`, if any (for the CLI's `ws path`). @internal */
  async record(name: string): Promise<WorkspaceRecord | undefined> {
    return this.#ctx.records.read(toWorkspaceName(name));
  }

  #handle(record: WorkspaceRecord, lease: Lease): Workspace {
    this.#held.set(record.name, lease);
    return new Workspace(record, lease, () => this.#held.delete(record.name));
  }
}

/** Binds WorkspacesBase to its dependencies: the `Workspaces` class users get. */
export function createWorkspacesApi(deps: WorkspacesDeps) {
  class Workspaces extends WorkspacesBase {
    /** @internal Use `Workspaces.open`. */
    constructor(ctx: WorkspacesContext) {
      super(deps, ctx);
    }

    /** Opens the workspaces of the repository containing `repo` (any of its worktrees). */
    static async open(repo: string | URL, options?: WorkspacesOptions): Promise<Workspaces> {
      return new Workspaces(await openContext(deps, repo, options));
    }
  }
  return { Workspaces: Workspaces as WorkspacesConstructor };
}
