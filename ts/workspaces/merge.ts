// The merge queue: a branch merged into a target branch with nothing checked out
// touched, exactly one attempt per merge however many merge at once.
//
// - Merges into one target queue on a lock of their own (`merge-<target>.lock` in the
//   state dir), held from reading the target to moving it, `check` included: so the
//   target cannot move under a merge and the tree `check` passed is the tree that lands.
//   It is not the repo lock, which is taken only for the short steps that change the
//   shared `.git` (scratch worktree add/remove, moving the target): a long check stalls
//   no other agent's create, remove or fetch.
// - Conflicts are decided by `git merge-tree --write-tree`, the commit is built with
//   `git commit-tree`: only objects are written until the target moves.
// - The target moves by compare-and-swap (`git update-ref <ref> NEW OLD`), or, when it is
//   checked out in a worktree, by a fast-forward there, only if that worktree is clean.
import { join } from 'node:path';
import { CodedError, invalidArgType, invalidArgValue } from '../errors';
import { toOptions, toSignal, toTimeout } from '../validate';
import { crashPoint } from './crash-points';
import { removeLeftoverScratch, runCheck } from './merge-check';
import { isAncestor, mergeTree, requireGitFor, resolveBranch, resolveCommit, treeOf } from './merge-tree';
import type { RepoContext } from './repo';
import { removeStaleLockRefusing, WAIT_FOR_REF_LOCKS } from './stale-git-lock';
import { listWorktrees } from './worktrees';

/** How a merge lands on the target: a merge commit, a squashed commit, replayed commits, or a fast-forward only. */
export type MergeStrategy = 'merge' | 'squash' | 'rebase' | 'ff-only';

export interface MergeOptions {
  /** The branch to merge (`agent/x`), or any revision (`origin/feature`, a commit). */
  branch: string;
  /** The branch to merge into. Default `'main'`. */
  into?: string;
  /**
   * `'merge'` (default): always a merge commit (as `git merge --no-ff`);
   * `'squash'`: one commit with the branch's changes, parent the target;
   * `'rebase'`: the branch's commits replayed onto the target (git 2.40+; the branch
   * itself is left as it is), a fast-forward when the target has not moved;
   * `'ff-only'`: the target moves to the branch if that is a fast-forward, else
   * `MergeRefusedError` with `reason: 'not-fast-forward'`.
   */
  strategy?: MergeStrategy;
  /**
   * A command (argv) that must exit 0 on the merged tree, run in a scratch worktree
   * with `CFS_MERGE_COMMIT`, `CFS_MERGE_BRANCH` and `CFS_MERGE_TARGET` set.
   */
  check?: readonly string[];
  /** The commit message of `'merge'` and `'squash'` (default: "Merge branch 'x' into main"). */
  message?: string;
  /**
   * Where scratch worktrees for `check` go (in a subdirectory per target; only
   * scratch worktrees of this module are ever removed there). Default
   * `<stateRoot>/merge-check`.
   */
  scratchDir?: string;
  /** Longest wait in ms for the merges queued before this one. Default: no limit. */
  queueTimeout?: number;
  signal?: AbortSignal;
}

/**
 * What a merge did: `'merged'` (the target is at `commit` now), `'conflict'` (nothing
 * changed; `files` the conflicting paths), `'check-failed'` (nothing changed; the check's
 * combined `output` and `exitCode`, null if a signal ended it), `'up-to-date'` (the target
 * has the branch's changes already).
 */
export type MergeResult =
  | {
      /** The target moved. */
      readonly status: 'merged';
      /** The target's new commit. */
      readonly commit: string;
    }
  | {
      /** Nothing changed: the branch conflicts with the target. */
      readonly status: 'conflict';
      /** The conflicting paths. */
      readonly files: string[];
    }
  | {
      /** Nothing changed: `check` failed on the merged tree. */
      readonly status: 'check-failed';
      /** What the check printed (stdout and stderr). */
      readonly output: string;
      /** Its exit status; null when a signal ended it. */
      readonly exitCode: number | null;
    }
  | {
      /** The target has the branch's changes already. */
      readonly status: 'up-to-date';
    };

/** Why a merge was refused with nothing changed. */
export type MergeRefusal = 'unknown-branch' | 'unknown-target' | 'not-fast-forward' | 'target-dirty' | 'target-moved';

/**
 * A merge that was not done, and cannot be by retrying it as it is: `code`
 * `'EMERGEREFUSED'`, `reason` says why, `target` the branch merged into. Nothing was
 * changed (objects aside).
 */
export class MergeRefusedError extends CodedError<'MergeRefusedError', 'EMERGEREFUSED'> {
  /** Why: `'unknown-branch'`, `'unknown-target'`, `'not-fast-forward'`, `'target-dirty'` (checked out with changes), `'target-moved'` (moved outside the queue). */
  declare readonly reason: MergeRefusal;
  /** The branch that was to be merged into. */
  declare readonly target: string;
  /** For `'target-dirty'`: the worktree that has the target checked out. */
  declare readonly worktree?: string;
  /** @internal */
  constructor(reason: MergeRefusal, target: string, message: string, worktree?: string) {
    super('MergeRefusedError', 'EMERGEREFUSED', message, { reason, target, worktree });
  }
}

const STRATEGIES: readonly MergeStrategy[] = ['merge', 'squash', 'rebase', 'ff-only'];

interface Request {
  branch: string;
  into: string;
  strategy: MergeStrategy;
  check: readonly string[] | undefined;
  message: string | undefined;
  scratchDir: string | undefined;
  queueTimeout: number;
  signal: AbortSignal | undefined;
}

/** Merges `options.branch` into `options.into` (see `MergeOptions`). */
export async function mergeBranch(ctx: RepoContext, options: MergeOptions): Promise<MergeResult> {
  const request = toRequest(options);
  const queue = `merge-${encodeURIComponent(request.into)}.lock`;
  return ctx.withStateLock(queue, () => mergeQueued(ctx, request), {
    timeout: request.queueTimeout,
    signal: request.signal,
  });
}

/** The merge, holding the target's queue lock: nothing else moves the target now. */
async function mergeQueued(ctx: RepoContext, request: Request): Promise<MergeResult> {
  const { branch, into, signal } = request;
  // One directory per target: its queue lock, held now, covers exactly the scratch worktrees there.
  const scratchDir = join(request.scratchDir ?? join(ctx.stateRoot, 'merge-check'), encodeURIComponent(into));
  await removeLeftoverScratch(ctx, scratchDir);
  const old = await resolveCommit(ctx, `refs/heads/${into}`, signal);
  if (old === undefined) throw new MergeRefusedError('unknown-target', into, `there is no branch '${into}' to merge into`);
  const theirs = await resolveBranch(ctx, branch, signal);
  if (theirs === undefined) throw new MergeRefusedError('unknown-branch', into, `there is no branch or commit '${branch}' to merge`);
  if (await isAncestor(ctx, theirs, old, signal)) return { status: 'up-to-date' };

  const built = await buildCommit(ctx, request, old, theirs);
  if (built.status !== 'merged') return built;
  await crashPoint('ws.merge.after-build');
  if (request.check !== undefined) {
    const env = { CFS_MERGE_COMMIT: built.commit, CFS_MERGE_BRANCH: branch, CFS_MERGE_TARGET: into };
    const outcome = await runCheck(ctx, { dir: scratchDir, commit: built.commit, argv: request.check, env, signal });
    if (!outcome.passed) return { status: 'check-failed', output: outcome.output, exitCode: outcome.exitCode };
  }
  signal?.throwIfAborted();
  await ctx.withRepoLock(async () => {
    await crashPoint('ws.merge.before-advance');
    await advanceTarget(ctx, into, old, built.commit, branch);
  });
  await crashPoint('ws.merge.after-advance');
  return built;
}

/** The commit the target should move to, per strategy; only objects are written. */
async function buildCommit(ctx: RepoContext, request: Request, old: string, theirs: string): Promise<MergeResult> {
  const { strategy, signal } = request;
  if (strategy === 'ff-only' || strategy === 'rebase') {
    if (await isAncestor(ctx, old, theirs, signal)) return { status: 'merged', commit: theirs };
    if (strategy === 'ff-only') {
      throw new MergeRefusedError(
        'not-fast-forward',
        request.into,
        `'${request.branch}' is not a fast-forward of '${request.into}' (it has moved since the branch forked); rebase the branch or use another strategy`,
      );
    }
    await requireGitFor('2.40', "strategy 'rebase' (git merge-tree --merge-base)");
    return replay(ctx, old, theirs, signal);
  }
  const merged = await mergeTree(ctx, old, theirs, { signal });
  if ('conflicts' in merged) return { status: 'conflict', files: merged.conflicts };
  if (strategy === 'squash' && merged.tree === (await treeOf(ctx, old, signal))) return { status: 'up-to-date' };
  const parents = strategy === 'merge' ? ['-p', old, '-p', theirs] : ['-p', old];
  const message = request.message ?? (await defaultMessage(ctx, request, old, theirs));
  const commit = await ctx.git(['commit-tree', merged.tree, ...parents, '-F', '-'], { input: message, signal });
  return { status: 'merged', commit: commit.stdout.trim() };
}

async function defaultMessage(ctx: RepoContext, request: Request, old: string, theirs: string): Promise<string> {
  const { branch, into } = request;
  if (request.strategy === 'merge') return `Merge branch '${branch}' into ${into}\n`;
  const log = await ctx.git(['log', '--format=* %s', '--reverse', `${old}..${theirs}`], { signal: request.signal });
  return `Squashed branch '${branch}' into ${into}\n\n${log.stdout}`;
}

/**
 * Replays the commits of `theirs` that `old` lacks onto `old`, one `merge-tree` with the
 * commit's parent as merge base and one `commit-tree` each, keeping author and message
 * (`git rebase`'s result, without a worktree). Merge commits are dropped and commits
 * that end up empty are skipped, as `git rebase` does.
 */
async function replay(ctx: RepoContext, old: string, theirs: string, signal: AbortSignal | undefined): Promise<MergeResult> {
  const list = await ctx.git(
    ['rev-list', '--reverse', '--topo-order', '--no-merges', '--cherry-pick', '--right-only', `${old}...${theirs}`],
    {
      signal,
    },
  );
  let tip = old;
  let tipTree = await treeOf(ctx, old, signal);
  for (const commit of list.stdout.split('\n').filter(Boolean)) {
    const merged = await mergeTree(ctx, tip, commit, { base: `${commit}^`, signal });
    if ('conflicts' in merged) return { status: 'conflict', files: merged.conflicts };
    if (merged.tree === tipTree) continue;
    tip = await recommit(ctx, commit, merged.tree, tip, signal);
    tipTree = merged.tree;
  }
  return tip === old ? { status: 'up-to-date' } : { status: 'merged', commit: tip };
}

/** A copy of `commit` (its message and author) with another tree and parent. */
async function recommit(ctx: RepoContext, commit: string, tree: string, parent: string, signal: AbortSignal | undefined): Promise<string> {
  const show = await ctx.git(['show', '-s', '--format=%an%x00%ae%x00%ad%x00%B', '--date=raw', commit], { signal });
  const [name = '', email = '', date = '', ...message] = show.stdout.split('\0');
  const env = { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_AUTHOR_DATE: date };
  const out = await ctx.git(['commit-tree', tree, '-p', parent, '-F', '-'], { input: message.join('\0'), env, signal });
  return out.stdout.trim();
}

/**
 * `git update-ref REF NEXT OLD` (repo lock held). A `REF.lock` that a killed merger's git
 * left behind would refuse every merge into REF forever; git waits up to a second for a
 * live holder, and a lock older than git ever holds one is removed, then the update is
 * tried once more (see ./stale-git-lock.ts).
 */
async function updateRef(ctx: RepoContext, ref: string, next: string, old: string, message: string) {
  const args = [...WAIT_FOR_REF_LOCKS, 'update-ref', '-m', message, ref, next, old];
  const first = await ctx.git(args, { allowFailure: true });
  if (first.exitCode === 0 || !(await removeStaleLockRefusing(first.stderr, ctx))) return first;
  return ctx.git(args, { allowFailure: true });
}

/**
 * Moves `into` from `old` to `next` (repo lock held). Where `into` is checked out, that
 * worktree is fast-forwarded by git there (index, files and ref together), and only
 * when it has no changes to tracked files: an agent's unsaved work is never touched.
 */
async function advanceTarget(ctx: RepoContext, into: string, old: string, next: string, branch: string): Promise<void> {
  const ref = `refs/heads/${into}`;
  const worktree = await worktreeWith(ctx, ref);
  if (worktree === undefined) {
    const moved = await updateRef(ctx, ref, next, old, `concurrent-fs merge: ${branch}`);
    if (moved.exitCode !== 0) {
      throw new MergeRefusedError('target-moved', into, `'${into}' was moved by someone outside the merge queue: ${moved.stderr.trim()}`);
    }
    return;
  }
  const status = await ctx.git(['--no-optional-locks', 'status', '--porcelain', '-z', '--untracked-files=no'], { cwd: worktree });
  if (status.stdout !== '') {
    throw new MergeRefusedError('target-dirty', into, `'${into}' is checked out in '${worktree}' with uncommitted changes`, worktree);
  }
  // --ff-only from whatever `into` is now: if someone moved it, this fails, as the CAS would.
  const merged = await ctx.git(['merge', '--ff-only', '--quiet', next], { cwd: worktree, allowFailure: true });
  if (merged.exitCode !== 0) {
    const why = merged.stderr.trim() || merged.stdout.trim();
    throw new MergeRefusedError(
      'target-dirty',
      into,
      `'${into}' is checked out in '${worktree}', which git would not update: ${why}`,
      worktree,
    );
  }
}

/** The worktree (with its directory present) that has `ref` checked out, if any. */
async function worktreeWith(ctx: RepoContext, ref: string): Promise<string | undefined> {
  const out = await listWorktrees(ctx);
  // Records of "key value" fields, each NUL-terminated; an empty field ends a record.
  let path: string | undefined;
  let fields = new Map<string, string>();
  for (const field of out.stdout.split('\0')) {
    if (field === '') {
      if (fields.get('branch') === ref && !fields.has('prunable') && !fields.has('bare')) path = fields.get('worktree');
      if (path !== undefined) return path;
      fields = new Map();
      continue;
    }
    const space = field.indexOf(' ');
    fields.set(space < 0 ? field : field.slice(0, space), space < 0 ? '' : field.slice(space + 1));
  }
  return undefined;
}

function toRequest(value: MergeOptions): Request {
  const options = toOptions(value);
  const into = toRefName(options.into ?? 'main', 'options.into');
  const branch = toRefName(options.branch, 'options.branch');
  const strategy = options.strategy ?? 'merge';
  if (!STRATEGIES.includes(strategy as MergeStrategy)) {
    throw invalidArgValue('options.strategy', strategy, `must be one of ${STRATEGIES.map((s) => `'${s}'`).join(', ')}`);
  }
  return {
    branch,
    into,
    strategy: strategy as MergeStrategy,
    check: toCheck(options.check),
    message: toOptionalString(options.message, 'options.message'),
    scratchDir: toOptionalString(options.scratchDir, 'options.scratchDir'),
    queueTimeout: toTimeout(options.queueTimeout, 'options.queueTimeout', Number.POSITIVE_INFINITY),
    signal: toSignal(options.signal),
  };
}

/** A branch name or revision as given to git: not empty, not an option, no NUL. */
function toRefName(value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
  if (value === '' || value.startsWith('-') || value.includes('\0')) {
    throw invalidArgValue(name, value, 'must be a branch name (not empty, not starting with "-")');
  }
  return value;
}

function toCheck(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((arg) => typeof arg === 'string')) {
    throw invalidArgType('options.check', 'an array of strings', value);
  }
  if (value.length === 0 || value[0] === '') throw invalidArgValue('options.check', value, 'must name a command');
  return [...value];
}

function toOptionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
  if (value === '') throw invalidArgValue(name, value, 'must not be empty');
  return value;
}
