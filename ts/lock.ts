// FileLock, withLock and lockMany: reentrancy, timeouts, cancellation and ordering on
// top of an implementation's OS-level lock (flock on Unix, LockFileEx on Windows, or
// the fallback's lock files).
import type { Backend, LockHandle } from './backend';
import { abortError, LockTimeoutError, systemError, throwIfAborted } from './errors';
import { heldInContext, runHolding } from './lock-context';
import { compareIdentities, currentIdentity, type LockIdentity, lockFileIdentity } from './lock-identity';
import { toBoolean, toOptions, toPath, toSignal, toTimeout } from './validate';

/** Options of `new FileLock(path, options)`. */
export interface FileLockOptions {
  /** Shared (reader) lock: excludes only exclusive locks. Default `false`. */
  shared?: boolean;
  /** Default wait for `acquire`/`acquireSync`, in ms. `0` tries once. Default `Infinity`. */
  timeout?: number;
}

/** Options of `FileLock.acquire`. */
export interface AcquireOptions {
  /** Longest wait in ms; `0` tries once. Default: the `FileLock`'s `timeout` (`Infinity`). */
  timeout?: number;
  /** Cancels the call (or its wait); it rejects with `AbortError` (`ABORT_ERR`). */
  signal?: AbortSignal;
}

/** Options of `withLock` and `lockMany`: `acquire`'s and `shared`. */
export interface LockOptions extends AcquireOptions {
  /** Shared (reader) locks. Default `false`. */
  shared?: boolean;
}

/** Locks held together by `lockMany`, released in reverse order. */
export interface LockSet {
  /** The distinct lock files held (the first spelling given of each), in the order they were taken. */
  readonly paths: readonly string[];
  /** Releases every lock, in reverse order. Calling it again does nothing. */
  release(): void;
  /** `release()`, for `using`. */
  [Symbol.dispose](): void;
  /** `release()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** `release()` of a `FileLock` that is not held. `code` `'ENOTACQUIRED'`, `path` the lock file. */
export class LockNotHeldError extends Error {
  /** Always `'LockNotHeldError'`. */
  override readonly name = 'LockNotHeldError';
  /** Always `'ENOTACQUIRED'`. */
  readonly code = 'ENOTACQUIRED';
  constructor(
    /** The lock file, as the `FileLock` was given it. */
    readonly path: string,
  ) {
    super(`ENOTACQUIRED: release of a lock that is not held, '${path}'`);
  }
}

/**
 * Every lock currently held in this thread. A held lock must stay held until `release`
 * (or exit), even if its object is dropped: without this reference the garbage
 * collector would close the native lock's descriptor, silently releasing it. Slots with
 * a free list rather than a Set: a Set that empties at every release rehashes (V8
 * shrinks its table), a measurable share of an uncontended lock cycle.
 */
const held: (FileLockBase | undefined)[] = [];
const freeSlots: number[] = [];

function keepAlive(lock: FileLockBase): number {
  const slot = freeSlots.pop() ?? held.length;
  held[slot] = lock;
  return slot;
}

function letGo(slot: number): void {
  held[slot] = undefined;
  freeSlots.push(slot);
}

/**
 * The `FileLock` class users get. Declared as an interface so that the shipped `.d.ts`
 * names `FileLockBase` instead of spelling out a class expression: a spelled-out class
 * with private fields is not assignable to `FileLockBase`, so `const l: FileLock = new
 * FileLock(p)` would not compile in a user's project.
 */
export interface FileLockConstructor {
  /**
   * A lock on `path`, not yet held. The lock file is created (if absent) when first
   * locked, and never deleted by the lock.
   * @param path The lock file (usually a sidecar such as `data.json.lock`), a string or `file:` URL.
   * @param options `shared` (default `false`), `timeout` (default wait of `acquire`, ms; default `Infinity`).
   * @throws `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad
   * arguments, before any file is touched.
   */
  new (path: string | URL, options?: FileLockOptions): FileLockBase;
}

/** A cross-process lock on one lock file. See `createLockApi` for the class users get. */
export abstract class FileLockBase {
  /** The lock file, as given (a `file:` URL as its path). */
  readonly path: string;
  /** Whether this is a shared (reader) lock, from `options.shared`. */
  readonly shared: boolean;
  readonly #timeout: number;
  readonly #handle: LockHandle;
  #count = 0;
  /** Where `held` keeps this lock alive while held; -1 when not held. */
  #slot = -1;
  #pending: Promise<unknown> | null = null;

  protected constructor(backend: Backend, path: string | URL, options?: FileLockOptions) {
    const opts = toOptions(options);
    this.path = toPath(path);
    this.shared = toBoolean(opts.shared, 'options.shared', false);
    this.#timeout = toTimeout(opts.timeout, 'options.timeout', Number.POSITIVE_INFINITY);
    this.#handle = backend.openLock(this.path, this.shared);
  }

  /** Whether this object holds the lock now (its hold count is above zero). */
  get isLocked(): boolean {
    return this.#count > 0;
  }

  /**
   * Takes the lock if it is free right now; never waits. Counts up if this object holds it.
   * @returns `true` if this object now holds the lock, `false` if another holder has it.
   * @throws `ERR_INVALID_STATE` while an `acquire()` of this object is pending; OS errors (`code`, `syscall`, `path`).
   * @example
   * if (lock.tryAcquire()) try { work(); } finally { lock.release(); }
   */
  tryAcquire(): boolean {
    if (this.#count > 0) {
      this.#count++;
      return true;
    }
    this.#refuseWhilePending('tryAcquire');
    if (!this.#handle.tryLock()) return false;
    this.#holdFirst();
    return true;
  }

  /**
   * Waits for the lock, blocking this thread. Prefer `acquire` on the main thread.
   * @param options `timeout` (ms; `0` tries once). Default: the constructor's `timeout` (`Infinity`).
   * @returns This lock, held.
   * @throws `ELOCKTIMEOUT` (`LockTimeoutError`) when not had in time; `EDEADLK` when this async
   * context holds the path through another object; `ERR_INVALID_STATE` while an `acquire()`
   * of this object is pending; OS errors; `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for a bad `timeout`.
   * @example
   * lock.acquireSync({ timeout: 1000 });
   */
  acquireSync(options?: { timeout?: number }): this {
    const timeout = toTimeout(toOptions(options).timeout, 'options.timeout', this.#timeout);
    if (this.#count > 0) {
      this.#count++;
      return this;
    }
    this.#refuseWhilePending('acquireSync');
    this.#refuseDeadlock();
    if (!this.#handle.lockSync(timeout)) throw new LockTimeoutError(this.path, timeout);
    this.#holdFirst();
    return this;
  }

  /**
   * Waits for the lock without blocking the event loop or a threadpool thread. Counts up
   * if this object holds it already.
   * @param options `timeout` (ms; `0` tries once; default the constructor's, `Infinity`), `signal`.
   * @returns This lock, held.
   * @throws `ELOCKTIMEOUT` (`LockTimeoutError`) when not had in time; `ABORT_ERR` (`AbortError`)
   * when `signal` aborts; `EDEADLK` when this async context holds the path through another
   * object; OS errors; `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for bad options.
   * @example
   * await using held = await new FileLock('data.json.lock').acquire({ timeout: 5000 });
   */
  async acquire(options?: AcquireOptions): Promise<this> {
    const limits = startAcquire(options, this.#timeout);
    const { timeout, signal, deadline } = limits;
    // One OS wait per object: a second acquire() joins the pending one. (Checked here, not
    // in joinPending, so that an uncontended acquire awaits nothing before its OS wait.)
    if (this.#count === 0 && this.#pending) await joinPending(() => (this.#count === 0 ? this.#pending : null), limits, this.path);
    if (this.#count > 0) {
      this.#count++;
      return this;
    }
    this.#refuseDeadlock();
    const wait = this.#handle.lock(Math.max(0, deadline - performance.now()), signal);
    this.#pending = wait;
    try {
      if (!(await wait)) throw new LockTimeoutError(this.path, timeout);
    } finally {
      this.#pending = null;
    }
    if (signal?.aborted) {
      // The lock came in as the signal fired: honour the abort.
      this.#handle.unlock();
      throw abortError(signal);
    }
    this.#holdFirst();
    return this;
  }

  /**
   * Counts one hold down; the OS lock drops when the count reaches zero. The object
   * keeps its lock file open for its next hold (native), until `[Symbol.dispose]` or
   * garbage collection closes it.
   * @throws `ENOTACQUIRED` (`LockNotHeldError`) when this object does not hold the lock.
   */
  release(): void {
    if (this.#count === 0) throw new LockNotHeldError(this.path);
    this.#count--;
    if (this.#count === 0) {
      this.#letGo();
      this.#handle.release();
    }
  }

  /**
   * The held lock's OS descriptor (native, Unix), for a child process to inherit, as
   * `concurrent-fs lock` does; undefined when not held or not a descriptor.
   * @internal
   */
  descriptor(): number | undefined {
    return this.#count > 0 ? this.#handle.fd() : undefined;
  }

  /** The OS lock has one wait at a time; a blocking call beside it could never end. */
  #refuseWhilePending(method: string): void {
    if (this.#pending) throw invalidState(`${method}() while an acquire() of the same FileLock is pending, '${this.path}'`);
  }

  /** Waiting for a lock this async context holds through another object never ends. */
  #refuseDeadlock(): void {
    const holder = heldInContext(this.path, this);
    if (holder && (!holder.shared || !this.shared)) throw deadlock(this.path);
  }

  #holdFirst(): void {
    this.#count = 1;
    this.#slot = keepAlive(this);
  }

  #letGo(): void {
    if (this.#slot >= 0) letGo(this.#slot);
    this.#slot = -1;
  }

  /**
   * Counts one hold down if held (no error if not), for `using`; once no hold is left,
   * also closes the lock file the object kept open between holds (it reopens if used
   * again).
   */
  [Symbol.dispose](): void {
    if (this.#count > 1) {
      this.#count--;
      return;
    }
    // A pending acquire() owns the OS lock's wait: leave it to finish.
    if (this.#count === 0 && this.#pending) return;
    this.#count = 0;
    this.#letGo();
    this.#handle.unlock();
  }

  /** As `[Symbol.dispose]`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this[Symbol.dispose]();
  }
}

export function createLockApi(backend: Backend) {
  class FileLock extends FileLockBase {
    constructor(path: string | URL, options?: FileLockOptions) {
      super(backend, path, options);
    }
  }
  const newLock: NewLock = (path, shared) => new FileLock(path, { shared });
  return {
    FileLock: FileLock as FileLockConstructor,
    withLock: <T>(path: string | URL, fn: () => T | Promise<T>, options?: LockOptions): Promise<T> => withLock(newLock, path, fn, options),
    lockMany: (paths: readonly (string | URL)[], options?: LockOptions): Promise<LockSet> => lockMany(newLock, paths, options),
  };
}

/** Makes a `FileLock` (not yet held) for `withLock` and `lockMany`. */
type NewLock = (path: string, shared: boolean) => FileLockBase;

/**
 * Runs `fn` holding the lock. Inside `fn` (and whatever it awaits), `withLock` on the
 * same file re-enters (counts up) instead of waiting for itself.
 */
async function withLock<T>(newLock: NewLock, path: string | URL, fn: () => T | Promise<T>, options?: LockOptions): Promise<T> {
  if (typeof fn !== 'function') throw new TypeError('The "fn" argument must be of type function');
  const opts = toOptions(options);
  const shared = toBoolean(opts.shared, 'options.shared', false);
  const target = toPath(path);
  const acquire = { timeout: opts.timeout as number | undefined, signal: opts.signal as AbortSignal | undefined };
  const lock = reentered(target, shared) ?? (await acquireOwn(newLock(target, shared), acquire));
  try {
    return await runHolding(lock, fn);
  } finally {
    // Closes the lock file of a lock made here; counts an outer holder's down.
    lock[Symbol.dispose]();
  }
}

/**
 * Takes every lock or none, never waiting while it holds any: it waits for one lock
 * alone, then tries the others in the canonical order (by file identity: device, then
 * inode, the same in every process); if one is taken, it lets go of all and waits for
 * that one alone. So it cannot deadlock with another lockMany (or anything else), even
 * while lock files are deleted and recreated under it (which changes their order), and
 * two spellings of one lock file are one lock.
 */
async function lockMany(newLock: NewLock, paths: readonly (string | URL)[], options?: LockOptions): Promise<LockSet> {
  if (!Array.isArray(paths)) throw new TypeError('The "paths" argument must be an array');
  const opts = toOptions(options);
  const timeout = toTimeout(opts.timeout, 'options.timeout', Number.POSITIVE_INFINITY);
  const signal = toSignal(opts.signal);
  const shared = toBoolean(opts.shared, 'options.shared', false);
  const given = paths.map((p, i) => toPath(p, `paths[${i}]`));
  throwIfAborted(signal);
  const deadline = performance.now() + timeout;
  let first = 0;
  for (;;) {
    const ordered = await canonicalOrder(given);
    if (ordered.length === 0) return heldLocks([], []);
    const waitFor = ordered[Math.min(first, ordered.length - 1)] as OrderedLock;
    const waited = reentered(waitFor.path, shared) ?? (await acquireFor(newLock(waitFor.path, shared), deadline, signal, timeout));
    const round = tryTheRest(newLock, ordered, waitFor, waited, shared);
    if (round.held)
      return heldLocks(
        ordered.map((entry) => entry.path),
        round.held,
      );
    first = round.blocked;
  }
}

/**
 * With `waited` held, tries every other lock once. All held, on the files they were
 * ordered by: `held` in canonical order. Else none held, and `blocked` names the lock
 * to wait for next.
 */
function tryTheRest(
  newLock: NewLock,
  ordered: OrderedLock[],
  waitFor: OrderedLock,
  waited: FileLockBase,
  shared: boolean,
): { held?: FileLockBase[]; blocked: number } {
  const held: FileLockBase[] = [];
  let blocked = 0;
  try {
    for (const [index, entry] of ordered.entries()) {
      if (entry === waitFor) {
        held.push(waited);
        continue;
      }
      const lock = reentered(entry.path, shared) ?? newLock(entry.path, shared);
      if (!lock.isLocked && !lock.tryAcquire()) {
        lock[Symbol.dispose]();
        blocked = index;
        break;
      }
      held.push(lock);
    }
  } catch (err) {
    releaseAll(held.includes(waited) ? held : [...held, waited]);
    throw err;
  }
  const complete = held.length === ordered.length && ordered.every((entry) => currentIdentity(entry.path)?.key === entry.identity.key);
  if (complete) return { held, blocked };
  releaseAll(held.includes(waited) ? held : [...held, waited]);
  return { blocked };
}

/** The lock this async context already holds on `path`'s file, counted up once more. */
function reentered(path: string, shared: boolean): FileLockBase | undefined {
  const holder = heldInContext(path);
  if (holder === undefined) return undefined;
  // An exclusive hold covers a shared request; a shared one cannot become exclusive.
  if (holder.shared && !shared) throw deadlock(path);
  holder.tryAcquire();
  return holder;
}

interface OrderedLock {
  path: string;
  identity: LockIdentity;
}

async function acquireFor(lock: FileLockBase, deadline: number, signal: AbortSignal | undefined, timeout: number): Promise<FileLockBase> {
  try {
    return await acquireOwn(lock, { timeout: Math.max(0, deadline - performance.now()), signal });
  } catch (err) {
    if (err instanceof LockTimeoutError) throw new LockTimeoutError(lock.path, timeout);
    throw err;
  }
}

/** What bounds one `acquire` call: its `timeout` (ms) and `signal`, checked, and the deadline they set. */
export interface AcquireLimits {
  readonly timeout: number;
  readonly signal: AbortSignal | undefined;
  /** A `performance.now()` time. */
  readonly deadline: number;
}

/**
 * Checks `acquire`'s options (`timeout` defaults to the lock's own) and starts its
 * clock; throws an AbortError if the signal has aborted already. Shared by `FileLock`
 * and `EtcdLock`, which take the same options.
 */
export function startAcquire(options: unknown, defaultTimeout: number): AcquireLimits {
  const opts = toOptions(options);
  const timeout = toTimeout(opts.timeout, 'options.timeout', defaultTimeout);
  const signal = toSignal(opts.signal);
  throwIfAborted(signal);
  return { timeout, signal, deadline: performance.now() + timeout };
}

/** Waits for `pending` within `deadline` and `signal`: true when it settled, false at the deadline. */
export type Join = (pending: Promise<unknown>, deadline: number, signal: AbortSignal | undefined) => Promise<boolean>;

/**
 * A lock object has one wait at a time: a second `acquire()` while the first waits joins
 * it, within its own timeout and signal, and gets the lock (counted) when the first
 * does. Resolves once `pending()` returns none (the object holds the lock, or the first
 * call failed and this one may wait itself); throws `LockTimeoutError` (naming `name`)
 * at the deadline.
 */
export async function joinPending(
  pending: () => Promise<unknown> | null | undefined,
  limits: AcquireLimits,
  name: string,
  join: Join = joinWithin,
): Promise<void> {
  for (let current = pending(); current; current = pending()) {
    if (!(await join(current, limits.deadline, limits.signal))) throw new LockTimeoutError(name, limits.timeout);
  }
}

/** Acquires a lock made for one call; when that fails, closes its lock file at once. */
async function acquireOwn(lock: FileLockBase, options: AcquireOptions): Promise<FileLockBase> {
  try {
    return await lock.acquire(options);
  } catch (err) {
    lock[Symbol.dispose]();
    throw err;
  }
}

/** Distinct lock files (the first spelling of each), in the canonical order. */
async function canonicalOrder(paths: string[]): Promise<OrderedLock[]> {
  const byFile = new Map<string, OrderedLock>();
  for (const path of paths) {
    const identity = await lockFileIdentity(path);
    if (!byFile.has(identity.key)) byFile.set(identity.key, { path, identity });
  }
  return [...byFile.values()].sort((a, b) => compareIdentities(a.identity, b.identity));
}

/**
 * Resolves true when `pending` settles, false when `deadline` (a performance.now()
 * time) passes first; rejects with an AbortError when `signal` aborts first.
 */
function joinWithin(pending: Promise<unknown>, deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
  const left = deadline - performance.now();
  if (left <= 0) return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    const done = (result: boolean | Error) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onAbort = () => done(abortError(signal as AbortSignal));
    // setTimeout fires at once for delays over 2^31-1 ms; such a wait is forever here.
    const timer = Number.isFinite(left) && left < 2 ** 31 ? setTimeout(() => done(false), left) : undefined;
    signal?.addEventListener('abort', onAbort, { once: true });
    pending.then(
      () => done(true),
      () => done(true),
    );
  });
}

function invalidState(message: string): Error {
  return Object.assign(new Error(`Invalid state: ${message}`), { code: 'ERR_INVALID_STATE' });
}

function deadlock(path: string): Error {
  return systemError({
    code: 'EDEADLK',
    syscall: 'flock',
    path,
    message: `EDEADLK: resource deadlock avoided: this async context already holds '${path}' (through withLock), so waiting for it here could never end, flock '${path}'`,
  });
}

/** Counts each down once, closing the lock files of locks made for this set. */
function releaseAll(locks: FileLockBase[]): void {
  for (const lock of [...locks].reverse()) if (lock.isLocked) lock[Symbol.dispose]();
}

/** The set `lockMany` returns: `release()` lets go of every lock once. */
function heldLocks(paths: readonly string[], locks: FileLockBase[]): LockSet {
  let left = locks;
  const release = (): void => {
    const now = left;
    left = [];
    releaseAll(now);
  };
  return { paths, release, [Symbol.dispose]: release, [Symbol.asyncDispose]: async () => release() };
}
