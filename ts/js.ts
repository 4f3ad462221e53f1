// Entry point 'concurrent-fs/js': the pure-JS fallback only.
import { createApi } from './api';
import { jsBackend } from './js/backend';
import type { FileLockBase } from './lock';
import type { SnowflakeBase } from './snowflake';

const api = createApi(jsBackend);

export const implementation: 'native' | 'js' = api.implementation;
export const atomicWrite = api.atomicWrite;
export const atomicWriteSync = api.atomicWriteSync;
export const atomicWriteMany = api.atomicWriteMany;
export const createExclusive = api.createExclusive;
export const createExclusiveSync = api.createExclusiveSync;
export const openAtomic = api.openAtomic;
export const FileLock = api.FileLock;
export type FileLock = FileLockBase;
export const withLock = api.withLock;
export const lockMany = api.lockMany;
export const lockStatus = api.lockStatus;
export type { LockHolder, LockStatus } from './lock-status';
export const readVersioned = api.readVersioned;
export const writeIfVersion = api.writeIfVersion;
export const compareAndSwap = api.compareAndSwap;
export const optimisticUpdate = api.optimisticUpdate;
export const readJson = api.readJson;
export const writeJson = api.writeJson;
export const updateJson = api.updateJson;
export const retry = api.retry;
export const backoffDelays = api.backoffDelays;
export const Snowflake = api.Snowflake;
export type Snowflake = SnowflakeBase;
export const uuidv7 = api.uuidv7;
export const uuidv7Bytes = api.uuidv7Bytes;
export const uuidv7Batch = api.uuidv7Batch;
export const uuidv7Timestamp = api.uuidv7Timestamp;
export const machineWorkerId = api.machineWorkerId;
export const leaseWorkerId = api.leaseWorkerId;
export const ConcurrentFileStore = api.ConcurrentFileStore;
export type ConcurrentFileStore = InstanceType<typeof api.ConcurrentFileStore>;
export const TaskQueue = api.TaskQueue;
export type TaskQueue = InstanceType<typeof api.TaskQueue>;
export const leasePort = api.leasePort;
export type { LeasePortOptions, PortLease } from './ports';
export * from './public-types';
export type { UpdateMergeOptions } from './store';
export const Workspaces = api.Workspaces;
export type Workspaces = InstanceType<typeof api.Workspaces>;
export const EventLog = api.EventLog;
export type EventLog = InstanceType<typeof api.EventLog>;
export type { EventLogOptions, LogConsumer, LogEvent } from './events/log';
export type {
  AddTaskOptions,
  ClaimedTask,
  ClaimOptions,
  FailOptions,
  TaskError,
  TaskInfo,
  TaskQueueOptions,
  TaskState,
} from './tasks/queue';
