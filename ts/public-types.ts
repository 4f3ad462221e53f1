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
