// The errors a workspace operation reports beyond git's own (GitError) and the lock's
// (LockTimeoutError): a workspace someone alive owns, one with work that would be lost,
// and a name that does not (or already does) exist.

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
export class WorkspaceBusyError extends Error {
  /** Always `'WorkspaceBusyError'`. */
  override readonly name = 'WorkspaceBusyError';
  /** Always `'EBUSY'`. */
  readonly code = 'EBUSY';
  /** @internal */
  constructor(
    /** The workspace's name. */
    readonly workspace: string,
    /** Its owner's pid and host, when known. */
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
  /** Always `'WorkspaceDirtyError'`. */
  override readonly name = 'WorkspaceDirtyError';
  /** Always `'EDIRTY'`. */
  readonly code = 'EDIRTY';
  /** @internal */
  constructor(
    /** The workspace's name. */
    readonly workspace: string,
    /** `'dirty'`: uncommitted changes; `'unmerged'`: the branch has commits no other ref has. */
    readonly reason: 'dirty' | 'unmerged',
    /** For `'dirty'`: the changed paths. */
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
  /** Always `'WorkspaceNotFoundError'`. */
  override readonly name = 'WorkspaceNotFoundError';
  /** Always `'ENOENT'`. */
  readonly code = 'ENOENT';
  /** @internal */
  constructor(
    /** The name asked for. */
    readonly workspace: string,
  ) {
    super(`ENOENT: no workspace '${workspace}'`);
  }
}

/** `create` of a name that has a workspace already (use `acquire`): `code` `'EEXIST'`. */
export class WorkspaceExistsError extends Error {
  /** Always `'WorkspaceExistsError'`. */
  override readonly name = 'WorkspaceExistsError';
  /** Always `'EEXIST'`. */
  readonly code = 'EEXIST';
  /** @internal */
  constructor(
    /** The workspace's name. */
    readonly workspace: string,
    /** Where it is. */
    readonly path: string,
  ) {
    super(`EEXIST: workspace '${workspace}' exists at '${path}'; acquire() it instead`);
  }
}
