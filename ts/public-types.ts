// Types and classes that are the same whichever implementation an entry point uses.
export type {
  AtomicFile,
  AtomicWriteData,
  AtomicWriteManyEntry,
  AtomicWriteManyError,
  AtomicWriteManyOptions,
  AtomicWriteOptions,
} from './atomic';
export type { Durability } from './backend';
export type { SystemError } from './errors';
export { AbortError, ClockBackwardsError, ConflictError, LockTimeoutError } from './errors';
export type { UpdateJsonOptions, WriteJsonOptions } from './json';
export { CorruptFileError } from './json-file';
export type { AcquireOptions, FileLockOptions, LockOptions, LockSet } from './lock';
export { LockNotHeldError } from './lock';
export type { BackoffOptions, Jitter, RetryOptions } from './retry';
export type {
  CustomSnowflakeLayout,
  LeasedWorkerId,
  SnowflakeLayoutOption,
  SnowflakeOptions,
  SnowflakeParseOptions,
  SnowflakeParts,
} from './snowflake';
export type { StoreOptions } from './store';
export type { ConditionalWriteOptions, OptimisticUpdateOptions, Versioned } from './versioned';
export type { LeaseWorkerIdOptions, WorkerLease } from './worker-lease';
export type { CreateOptions } from './workspaces/create';
export type { WorkspaceOwner } from './workspaces/errors';
export { WorkspaceBusyError, WorkspaceDirtyError, WorkspaceExistsError, WorkspaceNotFoundError } from './workspaces/errors';
export type { GitResult, RunGitOptions } from './workspaces/git';
export { GitError, GitVersionError } from './workspaces/git';
export type { MergeRefusal, MergeResult, MergeStrategy } from './workspaces/merge';
export { MergeRefusedError } from './workspaces/merge';
export type { KeptBranch, ReclaimItem, ReclaimReport } from './workspaces/reclaim';
export type { KeepBranch } from './workspaces/records';
export type { RemoveOptions, RemoveResult } from './workspaces/remove';
export type { WorkspaceInfo } from './workspaces/status';
export type { Workspace } from './workspaces/workspace';
export type {
  MergeOptions,
  WorkspaceConflict,
  WorkspacesBase,
  WorkspacesConstructor,
  WorkspacesGitOptions,
  WorkspacesOptions,
} from './workspaces/workspaces';
