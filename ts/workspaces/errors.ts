// The errors a workspace operation reports beyond git's own (GitError) and the lock's
// (LockTimeoutError): a workspace someone alive owns, one with work that would be lost,
// and a name that does not (or already does) exist.
import { CodedError } from '../errors';

/** Who holds a workspace's lease, as far as it can be told. */
export interface WorkspaceOwner {
  /** The owner's process ID. */
  pid: number;
  /** The owner's host name. */
  host: string;
}

/**
 * The workspace is owned by a live process (its lease is held, or its `ownerPid` lives):
 * `code` `'EBUSY'`, `workspace` its name, `owner` the owner's pid and host when known.
 */
export class WorkspaceBusyError extends CodedError<'WorkspaceBusyError', 'EBUSY'> {
  /** The workspace's name. */
  declare readonly workspace: string;
  /** Its owner's pid and host, when known. */
  declare readonly owner: WorkspaceOwner | undefined;
  /** @internal */
  constructor(workspace: string, owner: WorkspaceOwner | undefined) {
    const who = owner ? `pid ${owner.pid} on ${owner.host}` : 'a live process';
    super('WorkspaceBusyError', 'EBUSY', `workspace '${workspace}' is owned by ${who}`, { workspace, owner });
  }
}

/**
 * `remove` would lose work: the worktree has uncommitted changes (`reason` `'dirty'`,
 * `files` the changed paths) or the branch would be deleted with commits no other ref has
 * (`reason` `'unmerged'`). `code` `'EDIRTY'`; pass `discardChanges: true` to go ahead.
 */
export class WorkspaceDirtyError extends CodedError<'WorkspaceDirtyError', 'EDIRTY'> {
  /** The workspace's name. */
  declare readonly workspace: string;
  /** `'dirty'`: uncommitted changes; `'unmerged'`: the branch has commits no other ref has. */
  declare readonly reason: 'dirty' | 'unmerged';
  /** For `'dirty'`: the changed paths. */
  declare readonly files: readonly string[];
  /** @internal */
  constructor(workspace: string, reason: 'dirty' | 'unmerged', files: readonly string[]) {
    const detail =
      reason === 'dirty'
        ? `workspace '${workspace}' has uncommitted changes (${files.slice(0, 5).join(', ')}${files.length > 5 ? ', ...' : ''}); pass discardChanges to remove it anyway`
        : `branch of workspace '${workspace}' has commits no other branch has; keep the branch or pass discardChanges`;
    super('WorkspaceDirtyError', 'EDIRTY', detail, { workspace, reason, files });
  }
}

/** No workspace of that name (`code` `'ENOENT'`), or one already exists (`code` `'EEXIST'`). */
export class WorkspaceNotFoundError extends CodedError<'WorkspaceNotFoundError', 'ENOENT'> {
  /** The name asked for. */
  declare readonly workspace: string;
  /** @internal */
  constructor(workspace: string) {
    super('WorkspaceNotFoundError', 'ENOENT', `no workspace '${workspace}'`, { workspace });
  }
}

/** `create` of a name that has a workspace already (use `acquire`): `code` `'EEXIST'`. */
export class WorkspaceExistsError extends CodedError<'WorkspaceExistsError', 'EEXIST'> {
  /** The workspace's name. */
  declare readonly workspace: string;
  /** Where it is. */
  declare readonly path: string;
  /** @internal */
  constructor(workspace: string, path: string) {
    super('WorkspaceExistsError', 'EEXIST', `workspace '${workspace}' exists at '${path}'; acquire() it instead`, { workspace, path });
  }
}
