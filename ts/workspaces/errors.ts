// The errors a workspace operation reports beyond git's own (GitError) and the lock's
// (LockTimeoutError): a workspace someone alive owns, one with work that would be lost,
// and a name that does not (or already does) exist.

/** Who holds a workspace's lease, as far as it can be told. */
export interface WorkspaceOwner {
  pid: number;
  host: string;
}

/**
 * The workspace is owned by a live process (its lease is held, or its `ownerPid` lives):
 * `code` `'EBUSY'`, `workspace` its name, `owner` the owner's pid and host when known.
 */
export class WorkspaceBusyError extends Error {
  override readonly name = 'WorkspaceBusyError';
  readonly code = 'EBUSY';
  constructor(
    readonly workspace: string,
    readonly owner: WorkspaceOwner | undefined,
  ) {
    const who = owner ? `pid ${owner.pid} on ${owner.host}` : 'a live process';
    super(`EBUSY: workspace '${workspace}' is owned by ${who}`);
  }
}

/**
 * `remove` would lose work: the worktree has uncommitted changes (`reason` `'dirty'`,
 * `files` the changed paths) or the branch would be deleted with commits no other ref has
 * (`reason` `'unmerged'`). `code` `'EDIRTY'`; pass `discardChanges: true` to go ahead.
 */
export class WorkspaceDirtyError extends Error {
  override readonly name = 'WorkspaceDirtyError';
  readonly code = 'EDIRTY';
  constructor(
    readonly workspace: string,
    readonly reason: 'dirty' | 'unmerged',
    readonly files: readonly string[],
  ) {
    super(
      reason === 'dirty'
        ? `EDIRTY: workspace '${workspace}' has uncommitted changes (${files.slice(0, 5).join(', ')}${files.length > 5 ? ', ...' : ''}); pass discardChanges to remove it anyway`
        : `EDIRTY: branch of workspace '${workspace}' has commits no other branch has; keep the branch or pass discardChanges`,
    );
  }
}

/** No workspace of that name (`code` `'ENOENT'`), or one already exists (`code` `'EEXIST'`). */
export class WorkspaceNotFoundError extends Error {
  override readonly name = 'WorkspaceNotFoundError';
  readonly code = 'ENOENT';
  constructor(readonly workspace: string) {
    super(`ENOENT: no workspace '${workspace}'`);
  }
}

/** `create` of a name that has a workspace already (use `acquire`): `code` `'EEXIST'`. */
export class WorkspaceExistsError extends Error {
  override readonly name = 'WorkspaceExistsError';
  readonly code = 'EEXIST';
  constructor(
    readonly workspace: string,
    readonly path: string,
  ) {
    super(`EEXIST: workspace '${workspace}' exists at '${path}'; acquire() it instead`);
  }
}
