// Entry point 'concurrent-fs/etcd': locks, fencing tokens and worker-ID leases shared by
// processes on many machines, on etcd v3. It loads the etcd client (the `etcd3` package,
// an optional peer dependency) when imported, and throws ERR_MODULE_NOT_FOUND saying to
// install it if it is missing; nothing else in the package loads it.

export { AbortError, ClockBackwardsError, LockTimeoutError } from './errors';
export { EtcdCoordinator } from './etcd/coordinator';
export { CoordinatorUnavailableError, LeaseLostError } from './etcd/errors';
export type { EtcdAcquireOptions } from './etcd/lock';
export { EtcdLock } from './etcd/lock';
export type { EtcdLockCallOptions, EtcdLockContext, EtcdLockSet } from './etcd/lock-helpers';
export { leaseWorkerId, lockMany, withLock } from './etcd/lock-helpers';
export type { EtcdConnectOptions, EtcdCredentials, EtcdLockOptions } from './etcd/options';
export type { EtcdLeaseWorkerIdOptions } from './etcd/worker-lease';
export { EtcdWorkerLease } from './etcd/worker-lease';
export { LockNotHeldError } from './lock';
