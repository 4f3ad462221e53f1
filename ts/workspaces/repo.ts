// A repository as the workspace code sees it: where its shared `.git` is, where the
// library keeps its files there, and the one repo lock that serialises every change to
// the shared `.git` (worktree add/remove/prune, branches, config, fetch, shared refs).
import { mkdir } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { LockOptions } from '../lock';
import { heldInContext } from '../lock-context';
import { type GitResult, type RunGitOptions, requireGit, runGit } from './git';

/** `withLock` of the implementation in use (native or fallback). */
export type WithLock = <T>(path: string, fn: () => Promise<T>, options?: LockOptions) => Promise<T>;

/** The library's files inside `<git-common-dir>`. */
export const STATE_DIR_NAME = 'concurrent-fs';

/** A repository's shared `.git` and the repo lock. */
export interface RepoContext {
  /** Top directory of the worktree `open` was given (usually the main worktree). */
  readonly topLevel: string;
  /** Absolute git common dir (the main `.git`), shared by every worktree. */
  readonly commonDir: string;
  /** `<commonDir>/concurrent-fs`: the library's files for this repository. */
  readonly stateRoot: string;
  /** The repo lock file, `<stateRoot>/repo.lock`. */
  readonly repoLock: string;
  /** Runs git in `cwd` (default `topLevel`), NOT serialised: for reads and worktree-local work. */
  git(args: readonly string[], options?: Partial<RunGitOptions>): Promise<GitResult>;
  /** Runs `fn` holding the repo lock (reentrant within one async call chain). */
  withRepoLock<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Runs `fn` holding `<stateRoot>/<name>`, a lock of the library's own that is not the
   * repo lock: for work that must be serialised for long (a merge queue's `check`)
   * without stalling every other git admin operation. `timeout` defaults to `lockTimeout`.
   */
  withStateLock<T>(name: string, fn: () => Promise<T>, options?: { timeout?: number; signal?: AbortSignal }): Promise<T>;
  /**
   * Runs git holding the repo lock, which git inherits (with `options.inherit`): a git
   * that outlives a killed caller keeps the shared `.git` locked until it ends.
   */
  lockedGit(args: readonly string[], options?: Partial<RunGitOptions>): Promise<GitResult>;
}

/** Finds the repository containing `dir` and prepares `<git-common-dir>/concurrent-fs/`. */
export async function openRepo(dir: string, deps: { withLock: WithLock; lockTimeout: number }): Promise<RepoContext> {
  await requireGit();
  const cwd = resolve(dir);
  const out = await runGit(['rev-parse', '--path-format=absolute', '--show-toplevel', '--git-common-dir'], { cwd });
  const [topLevel, common] = out.stdout.trim().split('\n');
  if (!topLevel || !common) throw new Error(`'${cwd}' is not inside a git worktree (a bare repository has no worktree)`);
  const commonDir = isAbsolute(common) ? common : resolve(cwd, common);
  const stateRoot = join(commonDir, STATE_DIR_NAME);
  await mkdir(stateRoot, { recursive: true });
  const repoLock = join(stateRoot, 'repo.lock');
  const withRepoLock = <T>(fn: () => Promise<T>) => deps.withLock(repoLock, fn, { timeout: deps.lockTimeout });
  return {
    topLevel,
    commonDir,
    stateRoot,
    repoLock,
    git: (args, options) => runGit(args, { cwd: topLevel, ...options }),
    withRepoLock,
    withStateLock: (name, fn, options) => deps.withLock(join(stateRoot, name), fn, { timeout: deps.lockTimeout, ...options }),
    lockedGit: (args, options) =>
      withRepoLock(() => {
        const held = heldInContext(repoLock)?.descriptor();
        const inherit = [...(held === undefined ? [] : [held]), ...(options?.inherit ?? [])];
        return runGit(args, { cwd: topLevel, ...options, inherit });
      }),
  };
}
