// withLock, lockMany and leaseWorkerId over a coordinator, with the local functions'
// shapes plus a required `coordinator` option. Inside withLock's fn (and whatever it
// awaits), withLock or lockMany on the same name and coordinator re-enters the held lock
// (counts up) instead of queueing behind itself.
import { AsyncLocalStorage } from 'node:async_hooks';
import { invalidArgType, LockTimeoutError, throwIfAborted } from '../errors';
import { LockNotHeldError } from '../lock';
import { toBoolean, toOptions, toSignal, toTimeout } from '../validate';
import { type EtcdCoordinator, toCoordinator } from './coordinator';
import type { EtcdLock } from './lock';
import { toName } from './options';
import type { EtcdLeaseWorkerIdOptions, EtcdWorkerLease } from './worker-lease';

/** Options of the etcd `withLock` and `lockMany`. */
export interface EtcdLockCallOptions {
  /** Where the locks live. Required. */
  coordinator: EtcdCoordinator;
  /** Shared (reader) locks: they hold together with other shared holds and exclude exclusive ones. Default `false`. */
  shared?: boolean;
  /** Longest wait in ms (for all of `lockMany`'s locks together); `0` tries once. Default `Infinity`. */
  timeout?: number;
  /** Cancels the wait; it rejects with `AbortError` and leaves no key behind. */
  signal?: AbortSignal;
}

/** What `withLock`'s fn receives: the hold's signal (aborts when it is lost) and fencing token. */
export interface EtcdLockContext {
  readonly signal: AbortSignal;
  readonly fencingToken: bigint;
  readonly lock: EtcdLock;
}

/** Locks held together by `lockMany`, in name order; `release()` lets go of all of them. */
export interface EtcdLockSet {
  readonly names: readonly string[];
  readonly locks: readonly EtcdLock[];
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface HeldHere {
  coordinator: EtcdCoordinator;
  lock: EtcdLock;
}

let storage: AsyncLocalStorage<readonly HeldHere[]> | undefined;

function heldInContext(coordinator: EtcdCoordinator, name: string): EtcdLock | undefined {
  return storage?.getStore()?.find((entry) => entry.coordinator === coordinator && entry.lock.name === name && entry.lock.isLocked)?.lock;
}

function toCallSettings(options: unknown) {
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
  const opts = toOptions(options);
  return {
    coordinator: toCoordinator(opts.coordinator),
    shared: toBoolean(opts.shared, 'options.shared', false),
    timeout: toTimeout(opts.timeout, 'options.timeout', Number.POSITIVE_INFINITY),
    signal: toSignal(opts.signal),
  };
}

/** Runs `fn` holding the etcd lock `name`, and releases it however fn ends. */
export async function withLock<T>(
  name: string,
  fn: (context: EtcdLockContext) => T | Promise<T>,
  options: EtcdLockCallOptions,
): Promise<T> {
  const lockName = toName(name);
  if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn);
  const { coordinator, shared, timeout, signal } = toCallSettings(options);
  throwIfAborted(signal);
  const lock = heldInContext(coordinator, lockName) ?? coordinator.lock(lockName, { shared });
  await lock.acquire({ timeout, signal });
  try {
    const context: EtcdLockContext = { signal: lock.signal, fencingToken: lock.fencingToken as bigint, lock };
    storage ??= new AsyncLocalStorage();
    const outer = storage.getStore() ?? [];
    return await storage.run([...outer, { coordinator, lock }], () => fn(context));
  } finally {
    await lock.release();
  }
}

/**
 * Takes every lock or none. Names are taken in sorted order (the same in every process,
 * so two lockMany calls cannot deadlock); if one cannot be had within the timeout, the
 * ones taken are released.
 */
export async function lockMany(names: readonly string[], options: EtcdLockCallOptions): Promise<EtcdLockSet> {
  if (!Array.isArray(names)) throw invalidArgType('names', 'an instance of Array', names);
  const sorted = [...new Set(names.map((name, i) => toName(name, `names[${i}]`)))].sort();
  const { coordinator, shared, timeout, signal } = toCallSettings(options);
  throwIfAborted(signal);
  const deadline = performance.now() + timeout;
  const held: EtcdLock[] = [];
  try {
    for (const name of sorted) {
      const lock = heldInContext(coordinator, name) ?? coordinator.lock(name, { shared });
      try {
        await lock.acquire({ timeout: Math.max(0, deadline - performance.now()), signal });
      } catch (err) {
        throw err instanceof LockTimeoutError ? new LockTimeoutError(name, timeout) : err;
      }
      held.push(lock);
    }
  } catch (err) {
    await releaseAll(held).catch(() => undefined);
    throw err;
  }
  return new HeldLocks(sorted, held);
}

/** A worker ID leased through `coordinator`: the lowest one no live holder has. */
export async function leaseWorkerId(
  name: string,
  options: EtcdLeaseWorkerIdOptions & { coordinator: EtcdCoordinator },
): Promise<EtcdWorkerLease> {
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
  return toCoordinator(options.coordinator).leaseWorkerId(name, options);
}

async function releaseAll(locks: readonly EtcdLock[]): Promise<void> {
  let failure: unknown;
  for (const lock of [...locks].reverse()) {
    try {
      await lock.release();
    } catch (err) {
      if (!(err instanceof LockNotHeldError)) failure ??= err;
    }
  }
  if (failure !== undefined) throw failure;
}

class HeldLocks implements EtcdLockSet {
  #locks: EtcdLock[];
  constructor(
    readonly names: readonly string[],
    locks: EtcdLock[],
  ) {
    this.#locks = locks;
  }
  get locks(): readonly EtcdLock[] {
    return this.#locks;
  }
  async release(): Promise<void> {
    const locks = this.#locks;
    this.#locks = [];
    await releaseAll(locks);
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}
