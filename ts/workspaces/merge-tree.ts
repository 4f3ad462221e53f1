// The git plumbing the merge queue and the conflict finder share. Everything here only
// reads refs or writes objects (trees, commits): nothing touches a worktree, an index
// or a ref, so none of it needs the repo lock.
import { GitError, type GitResult, runGit } from './git';
import type { RepoContext } from './repo';

/** What merging two commits gives: a tree, or the files that conflict. */
export type TreeMerge = { readonly tree: string } | { readonly conflicts: string[] };

/**
 * Merges `theirs` into `ours` with `git merge-tree --write-tree` (git 2.38+): the merged
 * tree is written to the object store, the conflicted paths are listed; no worktree or
 * index is involved. `base` picks the merge base (`--merge-base`, git 2.40+) instead of
 * the one git computes.
 */
export async function mergeTree(
  ctx: RepoContext,
  ours: string,
  theirs: string,
  options: { base?: string; signal?: AbortSignal | undefined } = {},
): Promise<TreeMerge> {
  const args = ['merge-tree', '--write-tree', '--name-only', '-z', '--no-messages'];
  if (options.base !== undefined) args.push(`--merge-base=${options.base}`);
  args.push(ours, theirs);
  const out = await ctx.git(args, { allowFailure: true, signal: options.signal });
  failAboveOne(ctx, args, out); // exit 1 is "merged, with conflicts"
  // -z --name-only --no-messages: "<tree>\0<path>\0<path>\0...", a path once per stage.
  const [tree = '', ...paths] = out.stdout.split('\0').filter((field) => field !== '');
  if (out.exitCode === 0) return { tree };
  return { conflicts: [...new Set(paths)] };
}

/** The commit `rev` names, or undefined when it names none. */
export async function resolveCommit(ctx: RepoContext, rev: string, signal?: AbortSignal): Promise<string | undefined> {
  const out = await ctx.git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], {
    allowFailure: true,
    signal,
  });
  return out.exitCode === 0 ? out.stdout.trim() : undefined;
}

/** The commit a branch name (`agent/x`) or any other revision (`origin/main`, a hash) names. */
export async function resolveBranch(ctx: RepoContext, branch: string, signal?: AbortSignal): Promise<string | undefined> {
  return (await resolveCommit(ctx, `refs/heads/${branch}`, signal)) ?? (await resolveCommit(ctx, branch, signal));
}

/** True when `ancestor` is reachable from `descendant` (a commit is its own ancestor). */
export async function isAncestor(ctx: RepoContext, ancestor: string, descendant: string, signal?: AbortSignal): Promise<boolean> {
  const args = ['merge-base', '--is-ancestor', ancestor, descendant];
  const out = await ctx.git(args, { allowFailure: true, signal });
  failAboveOne(ctx, args, out); // exit 1 is "not an ancestor"
  return out.exitCode === 0;
}

/** The tree of a commit. */
export async function treeOf(ctx: RepoContext, commit: string, signal?: AbortSignal): Promise<string> {
  return (await ctx.git(['rev-parse', '--verify', `${commit}^{tree}`], { signal })).stdout.trim();
}

/** For git commands whose exit 1 is an answer, not a failure. */
function failAboveOne(ctx: RepoContext, args: readonly string[], out: GitResult): void {
  if (out.exitCode > 1) throw new GitError(args, ctx.topLevel, out.exitCode, out.stdout, out.stderr);
}

let installed: Promise<string> | undefined;

/** Rejects with `code` `'EGITVERSION'` unless the installed git is `version` or later (for one feature). */
export async function requireGitFor(version: string, feature: string): Promise<void> {
  installed ??= runGit(['--version'], { cwd: process.cwd() }).then((out) => /\d+\.\d+(?:\.\d+)?/.exec(out.stdout)?.[0] ?? '0.0');
  const found = await installed;
  const [major = 0, minor = 0] = found.split('.').map(Number);
  const [needMajor = 0, needMinor = 0] = version.split('.').map(Number);
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return;
  throw Object.assign(new Error(`EGITVERSION: ${feature} needs git ${version} or later; git ${found} is installed`), {
    code: 'EGITVERSION',
  });
}
