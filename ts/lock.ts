// FileLock, withLock and lockMany: reentrancy, timeouts, cancellation and ordering on
// top of an implementation's OS-level lock (flock on Unix, LockFileEx on Windows, or
// the fallback's lock files).
import { resolve } from 'node:path';
import type { Backend, OsLock } from './backend';
import { abortError, LockTimeoutError, throwIfAborted } from './errors';
import { toBoolean, toOptions, toPath, toSignal, toTimeout } from './validate';

export interface FileLockOptions {
  /** Shared (reader) lock: excludes only exclusive locks. Default `false`. */
  shared?: boolean;
  /** Default wait for `acquire`/`acquireSync`, in ms. `0` tries once. Default `Infinity`. */
  timeout?: number;
}

export interface AcquireOptions {
  timeout?: number;
  signal?: AbortSignal;
}

export interface LockOptions extends AcquireOptions {
  shared?: boolean;
}

/** Locks held together by `lockMany`, released in reverse order. */
export interface LockSet {
  readonly paths: readonly string[];
  release(): void;
  [Symbol.dispose](): void;
  [Symbol.asyncDispose](): Promise<void>;
}

export class LockNotHeldError extends Error {
  override readonly name = 'LockNotHeldError';
  readonly code = 'ENOTACQUIRED';
  constructor(readonly path: string) {
    super(`ENOTACQUIRED: release of a lock that is not held, '${path}'`);
  }
}

/**
 * Every lock currently held in this thread. A held lock must stay held until `release`
 * (or exit), even if its object is dropped: without this reference the garbage
 * collector would close the native lock's descriptor, silently releasing it.
 */
const held = new Set<FileLockBase>();

/** A cross-process lock on one lock file. See `createLockApi` for the class users get. */
export abstract class FileLockBase {
  readonly path: string;
  readonly shared: boolean;
  readonly #timeout: number;
  readonly #os: OsLock;
  #count = 0;
  #pending: Promise<unknown> | null = null;

  protected constructor(backend: Backend, path: string | URL, options?: FileLockOptions) {
    const opts = toOptions(options);
    this.path = toPath(path);
    this.shared = toBoolean(opts.shared, 'options.shared', false);
    this.#timeout = toTimeout(opts.timeout, 'options.timeout', Number.POSITIVE_INFINITY);
    this.#os = backend.openLock(this.path, this.shared);
  }

  get isLocked(): boolean {
    return this.#count > 0;
  }

  /** Takes the lock if it is free right now; never waits. */
  tryAcquire(): boolean {
    if (this.#count > 0) {
      this.#count++;
      return true;
    }
    if (!this.#os.tryLock()) return false;
    this.#holdFirst();
    return true;
  }

  /** Waits for the lock, blocking this thread. Prefer `acquire` on the main thread. */
  acquireSync(options?: { timeout?: number }): this {
    const timeout = toTimeout(toOptions(options).timeout, 'options.timeout', this.#timeout);
    if (this.#count > 0) {
      this.#count++;
      return this;
    }
    if (!this.#os.lockSync(timeout)) throw new LockTimeoutError(this.path, timeout);
    this.#holdFirst();
    return this;
  }

  /** Waits for the lock without blocking the event loop or a threadpool thread. */
  async acquire(options?: AcquireOptions): Promise<this> {
    const opts = toOptions(options);
    const timeout = toTimeout(opts.timeout, 'options.timeout', this.#timeout);
    const signal = toSignal(opts.signal);
    throwIfAborted(signal);
    // One OS wait per object: a second acquire() while the first waits joins it.
    while (this.#pending) await this.#pending.catch(() => undefined);
    if (this.#count > 0) {
      this.#count++;
      return this;
    }
    const wait = this.#os.lock(timeout, signal);
    this.#pending = wait;
    try {
      if (!(await wait)) throw new LockTimeoutError(this.path, timeout);
    } finally {
      this.#pending = null;
    }
    if (signal?.aborted) {
      // The lock came in as the signal fired: honour the abort.
      this.#os.unlock();
      throw abortError(signal);
    }
    this.#holdFirst();
    return this;
  }

  /** Counts one hold down; the OS lock drops when the count reaches zero. */
  release(): void {
    if (this.#count === 0) throw new LockNotHeldError(this.path);
    this.#count--;
    if (this.#count === 0) {
      held.delete(this);
      this.#os.unlock();
    }
  }

  /**
   * The held lock's OS descriptor (native, Unix), for a child process to inherit, as
   * `concurrent-fs lock` does; undefined when not held or not a descriptor.
   * @internal
   */
  descriptor(): number | undefined {
    return this.#count > 0 ? this.#os.fd() : undefined;
  }

  #holdFirst(): void {
    this.#count = 1;
    held.add(this);
  }

  [Symbol.dispose](): void {
    if (this.#count > 0) this.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this[Symbol.dispose]();
  }
}

/**
 * The `FileLock` class users get. Declared as an interface so that the shipped `.d.ts`
 * names `FileLockBase` instead of spelling out a class expression: a spelled-out class
 * with private fields is not assignable to `FileLockBase`, so `const l: FileLock = new
 * FileLock(p)` would not compile in a user's project.
 */
export interface FileLockConstructor {
  new (path: string | URL, options?: FileLockOptions): FileLockBase;
}

export function createLockApi(backend: Backend) {
  class FileLock extends FileLockBase {
    constructor(path: string | URL, options?: FileLockOptions) {
      super(backend, path, options);
    }
  }

  async function withLock<T>(path: string | URL, fn: () => T | Promise<T>, options?: LockOptions): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('The "fn" argument must be of type function');
    const opts = toOptions(options);
    const lock = new FileLock(path, { shared: opts.shared as boolean | undefined });
    await lock.acquire({ timeout: opts.timeout as number | undefined, signal: opts.signal as AbortSignal | undefined });
    try {
      return await fn();
    } finally {
      lock.release();
    }
  }

  /**
   * Takes every lock or none. All callers take locks in one canonical order (sorted
   * resolved paths), so two lockMany calls can never wait on each other in a cycle.
   */
  async function lockMany(paths: readonly (string | URL)[], options?: LockOptions): Promise<LockSet> {
    if (!Array.isArray(paths)) throw new TypeError('The "paths" argument must be an array');
    const opts = toOptions(options);
    const timeout = toTimeout(opts.timeout, 'options.timeout', Number.POSITIVE_INFINITY);
    const signal = toSignal(opts.signal);
    const shared = toBoolean(opts.shared, 'options.shared', false);
    const sorted = [...new Set(paths.map((p) => resolve(toPath(p))))].sort();
    throwIfAborted(signal);
    const deadline = performance.now() + timeout;
    const held: FileLock[] = [];
    try {
      for (const path of sorted) {
        const lock = new FileLock(path, { shared });
        const remaining = Math.max(0, deadline - performance.now());
        try {
          await lock.acquire({ timeout: remaining, signal });
        } catch (err) {
          if (err instanceof LockTimeoutError) throw new LockTimeoutError(path, timeout);
          throw err;
        }
        held.push(lock);
      }
    } catch (err) {
      releaseAll(held);
      throw err;
    }
    return new HeldLocks(sorted, held);
  }

  return { FileLock: FileLock as FileLockConstructor, withLock, lockMany };
}

function releaseAll(locks: FileLockBase[]): void {
  for (const lock of [...locks].reverse()) if (lock.isLocked) lock.release();
}

class HeldLocks implements LockSet {
  #locks: FileLockBase[];
  constructor(
    readonly paths: readonly string[],
    locks: FileLockBase[],
  ) {
    this.#locks = locks;
  }
  release(): void {
    const locks = this.#locks;
    this.#locks = [];
    releaseAll(locks);
  }
  [Symbol.dispose](): void {
    this.release();
  }
  async [Symbol.asyncDispose](): Promise<void> {
    this.release();
  }
}
