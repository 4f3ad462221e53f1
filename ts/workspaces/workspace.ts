// A workspace this process owns: its lease is held until `release()` (or disposal, or
// exit). Git run through `git()` inherits the lease, so it stays owned while git runs.
import { registerDescriptors } from '../held-descriptors';
import { type GitResult, type RunGitOptions, runGit } from './git';
import type { Lease } from './lease';
import type { WorkspaceRecord } from './records';

/**
 * A workspace this process owns (from `Workspaces.create` / `acquire`): `name`, `path`,
 * `branch`, `baseCommit`; held until `release()` or `await using` scope end.
 * @example
 * await using ws = await wss.create('alice');
 * await ws.git(['commit', '-am', 'work']); // git holds the lease while it runs
 */
export class Workspace {
  /** The workspace's name. */
  readonly name: string;
  /** The worktree's directory. */
  readonly path: string;
  /** The workspace's branch (without `refs/heads/`). */
  readonly branch: string;
  /** The commit the branch started from. */
  readonly baseCommit: string;
  readonly #lease: Lease;
  readonly #onRelease: () => void;

  /** @internal */
  constructor(record: WorkspaceRecord, lease: Lease, onRelease: () => void) {
    this.name = record.name;
    this.path = record.path;
    this.branch = record.branch;
    this.baseCommit = record.baseCommit ?? '';
    this.#lease = lease;
    this.#onRelease = onRelease;
    registerDescriptors(this, () => lease.descriptors());
  }

  /** Whether this object still holds the workspace. */
  get held(): boolean {
    return this.#lease.held;
  }

  /** Runs git in the workspace, holding its lease for as long as git runs. */
  git(args: readonly string[], options: Partial<RunGitOptions> = {}): Promise<GitResult> {
    return runGit(args, { cwd: this.path, ...options, inherit: [...this.#lease.descriptors(), ...(options.inherit ?? [])] });
  }

  /** Lets the workspace go (it stays, for another process to `acquire`). Calling it again does nothing. */
  async release(): Promise<void> {
    if (!this.#lease.held) return;
    this.#lease.release();
    this.#onRelease();
  }

  /** `release()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}
