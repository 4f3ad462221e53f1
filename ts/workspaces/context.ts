// What every workspace operation of one `Workspaces` needs: the repository, where the
// worktrees go, how branches are named, the records and the leases.
import { join } from 'node:path';
import type { CopyMethod } from '../backend';
import type { Leases } from './lease';
import type { DocumentStore, Records } from './records';
import type { RepoContext } from './repo';

export interface WorkspacesContext {
  readonly repo: RepoContext;
  /** Where worktrees go (real path), `<root>/<name>`. */
  readonly root: string;
  readonly branchPrefix: string;
  /** Default base of new workspaces; undefined: the main worktree's HEAD. */
  readonly base: string | undefined;
  /** Ignored files to copy into new workspaces, relative to `includeFrom`. */
  readonly include: readonly string[];
  readonly includeFrom: string;
  /** The backend's atomic, reflinking copy, for the includes. */
  readonly cloneFile: (src: string, dest: string) => Promise<CopyMethod>;
  readonly records: Records;
  readonly leases: Leases;
  /** Documents of the coalesced fetches. */
  readonly fetches: DocumentStore;
}

export function workspacePath(ctx: WorkspacesContext, name: string): string {
  return join(ctx.root, name);
}

export function workspaceBranch(ctx: WorkspacesContext, name: string): string {
  return `${ctx.branchPrefix}${name}`;
}
