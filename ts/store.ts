// ConcurrentFileStore: a directory of JSON documents shared by many processes.
// `update` is the locked read-modify-write; `updateOptimistic` the lock-free one;
// `createUnique` names new documents with Snowflake IDs from a leased worker ID.
// A document is the file at its name: a symlink there is refused (ELOOP), never followed,
// so nothing planted in the directory redirects the store to a file outside it.
import { readdir, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Backend, Durability } from './backend';
import { invalidArgType, invalidArgValue, isSystemError, throwIfAborted } from './errors';
import { parseJson, serializeJson } from './json-file';
import type { LockOptions } from './lock';
import { readIfExistsNoFollow, refuseSymlink } from './no-follow';
import { makeParents } from './parents';
import { syncDir } from './sync-dir';
import { toOptions, toPath, toSignal, toTimeout, toWriteSettings } from './validate';
import { type ConditionalWriteOptions, NO_FOLLOW, type OptimisticUpdateOptions } from './versioned';

/** Options of `new ConcurrentFileStore(dir, options)`. */
export interface StoreOptions {
  /** Default `'full'`. */
  durability?: Durability;
  /** Longest wait for a document's lock, in ms. Default 30000. */
  lockTimeout?: number;
}

/** What the store needs from the ID API (kept structural to avoid a cycle). */
export interface UniqueIds {
  /** A new Snowflake ID (decimal) from a worker ID leased in `leaseDir`. */
  next(leaseDir: string): Promise<string>;
}

/** Snowflake IDs from one worker ID per lease directory, leased on first use and held until exit. */
export function leasedSnowflakes(ids: {
  leaseWorkerId(dir: string): Promise<{ id: number }>;
  Snowflake: new (options: { workerId: number }) => { nextString(): string };
}): UniqueIds {
  const generators = new Map<string, Promise<{ nextString(): string }>>();
  return {
    async next(leaseDir) {
      let generator = generators.get(leaseDir);
      if (!generator) {
        generator = ids.leaseWorkerId(leaseDir).then((lease) => new ids.Snowflake({ workerId: lease.id }));
        generators.set(leaseDir, generator);
        generator.catch(() => generators.delete(leaseDir));
      }
      return (await generator).nextString();
    },
  };
}

/** What a store needs: the implementation's writes and versions, and the API's locked and conditional writes. */
export interface StoreDeps {
  backend: Backend;
  withLock: <T>(path: string, fn: () => T | Promise<T>, options?: LockOptions) => Promise<T>;
  optimisticUpdate: <T>(
    path: string,
    transform: (current: T | undefined) => T | Promise<T>,
    options?: OptimisticUpdateOptions,
  ) => Promise<T>;
  ids: UniqueIds;
  writeIfVersion: (path: string, data: Uint8Array, expected: string | null, options?: ConditionalWriteOptions) => Promise<boolean>;
}

/** Options of `ConcurrentFileStore.updateMerge`: `merge` is required. */
export interface UpdateMergeOptions<T> {
  /**
   * Called when another writer committed between this call's read and its commit, with
   * the value `fn` saw (`base`), this call's value (`mine`) and the value committed
   * meanwhile (`theirs`); its result is committed instead (and merged again if yet
   * another writer got there first).
   */
  merge: (base: T | undefined, mine: T, theirs: T | undefined) => T | Promise<T>;
  /** Cancels the call (or its wait); it rejects with `AbortError` (`ABORT_ERR`). */
  signal?: AbortSignal;
}

/** Worker-ID leases for createUnique live here: hidden, so `list` never shows them. */
const LEASE_DIR = '.workers';

/** The longest file name most filesystems take (NAME_MAX), in bytes. */
const NAME_MAX_BYTES = 255;
const LOCK_SUFFIX = '.lock';
/** The longest name createUnique adds to a prefix: `_`, a 63-bit Snowflake in decimal, `.json`. */
const UNIQUE_SUFFIX_BYTES = '_'.length + String(2n ** 63n - 1n).length + '.json'.length;

/**
 * macOS and Windows filesystems fold case by default, so there `x.json.LOCK` names the
 * same file as `x.json.lock` would. (A case-sensitive volume there only loses names.)
 */
const FOLDS_CASE = process.platform === 'darwin' || process.platform === 'win32';

/** Whether `name` ends with `.lock` as the filesystem compares names. */
export function hasLockSuffix(name: string, foldsCase = FOLDS_CASE): boolean {
  return (foldsCase ? name.toLowerCase() : name).endsWith(LOCK_SUFFIX);
}

/** `reserve` bytes are what the store appends to the name on disk (its lock sidecar's suffix). */
function checkName(name: unknown, label: string, { allowEmpty = false, reserve = LOCK_SUFFIX.length } = {}): string {
  if (typeof name !== 'string') throw invalidArgType(label, 'of type string', name);
  const bad =
    (!allowEmpty && name === '') || /[/\\\0]/.test(name) || name === '.' || name === '..' || name.startsWith('.') || hasLockSuffix(name);
  if (bad)
    throw invalidArgValue(
      label,
      name,
      "must be a single file name: not empty, no '/', '\\' or NUL, not starting with '.', not ending with '.lock'",
    );
  if (Buffer.byteLength(name) + reserve > NAME_MAX_BYTES)
    throw invalidArgValue(
      label,
      name,
      `must be at most ${NAME_MAX_BYTES - reserve} bytes in UTF-8, so that the store's files for it fit ${NAME_MAX_BYTES} bytes`,
    );
  return name;
}

/** Data files only: never lock sidecars, temp files or the lease directory. */
function isDataName(name: string): boolean {
  return !name.startsWith('.') && !hasLockSuffix(name);
}

/** Unlinks the document; false if there was none. A symlink is refused, not removed. */
async function unlinkDocument(path: string): Promise<boolean> {
  await refuseSymlink(path);
  return unlinkIfExists(path);
}

async function unlinkIfExists(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return false;
    throw err;
  }
}

/** The `ConcurrentFileStore` class users get (an interface for the same reason as `FileLockConstructor`). */
export interface ConcurrentFileStoreConstructor {
  /**
   * A store over `dir`; nothing is touched until the first call.
   * @param dir The store's directory (created on the first write).
   * @param options `durability` (default `'full'`), `lockTimeout` (ms, default 30000).
   * @throws `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments.
   */
  new (dir: string | URL, options?: StoreOptions): ConcurrentFileStoreBase;
}

/**
 * A directory of JSON documents shared by many processes (the type of a
 * `ConcurrentFileStore`; see `createStoreApi` for the class users get). A document's name is its file's name in `dir`, used as given
 * (`'tasks.json'`): a single path component, not empty, without `/`, `\` or NUL, not `.`
 * or `..`, not starting with `.` and not ending with `.lock` (else `ERR_INVALID_ARG_VALUE`).
 * A document that is a symlink is refused (`ELOOP`), never followed out of `dir`.
 */
export abstract class ConcurrentFileStoreBase {
  /** The store's directory, as an absolute path; created on the first write. */
  readonly dir: string;
  readonly #deps: StoreDeps;
  readonly #durability: Durability;
  readonly #lockTimeout: number;
  #ready: Promise<unknown> | undefined;

  protected constructor(deps: StoreDeps, dir: string | URL, options?: StoreOptions) {
    const opts = toOptions(options);
    this.#deps = deps;
    this.dir = resolve(toPath(dir, 'dir'));
    this.#durability = toWriteSettings({ durability: opts.durability }).durability;
    this.#lockTimeout = toTimeout(opts.lockTimeout, 'options.lockTimeout', 30_000);
  }

  /**
   * Reads a document, without a lock (documents are replaced atomically, so it is whole).
   * @param name The document's file name.
   * @returns The parsed document, or `undefined` if it does not exist.
   * @throws `ECORRUPT` (`CorruptFileError`) when it is not JSON; `ELOOP` for a symlink; OS
   * errors; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for a bad name.
   * @example
   * const tasks = (await store.read<Task[]>('tasks.json')) ?? [];
   */
  async read<T>(name: string): Promise<T | undefined> {
    const path = this.#path(name);
    return parseJson(path, await readIfExistsNoFollow(path)) as T | undefined;
  }

  /**
   * Locked read-modify-write: takes `${name}.lock` (waiting up to `lockTimeout`), reads,
   * calls `fn`, writes its result atomically, and unlocks. If `fn` throws, nothing is written.
   * @param name The document's file name.
   * @param fn Gets the current value (`undefined` when absent), returns the new one (JSON-serialisable).
   * @returns The value written.
   * @throws `ELOCKTIMEOUT` (`LockTimeoutError`); `ECORRUPT` (`CorruptFileError`, the file is left as
   * it is); `ELOOP` for a symlink; OS errors; whatever `fn` throws; `ERR_INVALID_ARG_TYPE` /
   * `ERR_INVALID_ARG_VALUE` for a bad name, a non-function `fn` or a result JSON cannot hold.
   * @example
   * await store.update('counter.json', (n = 0) => n + 1);
   */
  async update<T>(name: string, fn: (current: T | undefined) => T | Promise<T>): Promise<T> {
    const path = this.#path(name);
    if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn);
    await this.#ensureDir();
    return this.#deps.withLock(
      `${path}.lock`,
      async () => {
        const next = await fn(parseJson(path, await readIfExistsNoFollow(path)) as T | undefined);
        const bytes = serializeJson(next, 'update result');
        await refuseSymlink(path);
        await this.#deps.backend.write(path, bytes, this.#settings());
        return next;
      },
      { timeout: this.#lockTimeout },
    );
  }

  /**
   * Lock-free read-modify-write, as `optimisticUpdate`: reads without a lock, calls `fn`,
   * commits only if nobody wrote meanwhile, else backs off and calls `fn` again.
   * @param name The document's file name.
   * @param fn Gets the current value (`undefined` when absent), returns the new one; may run more than once.
   * @param options `retries` (default 10), `backoff`, `onConflict`, `signal`; `durability` and
   * `lockTimeout` default to the store's.
   * @returns The value written.
   * @throws `ECONFLICT` (`ConflictError`) after the last retry; `ECORRUPT`; `ELOOP`; `ABORT_ERR`;
   * OS errors; whatever `fn` throws; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments.
   * @example
   * await store.updateOptimistic('stats.json', (s = { hits: 0 }) => ({ hits: s.hits + 1 }));
   */
  async updateOptimistic<T>(name: string, fn: (current: T | undefined) => T | Promise<T>, options?: OptimisticUpdateOptions): Promise<T> {
    const path = this.#path(name);
    await this.#ensureDir();
    const opts = { durability: this.#durability, lockTimeout: this.#lockTimeout, ...toOptions(options), [NO_FOLLOW]: true };
    return this.#deps.optimisticUpdate(path, fn, opts);
  }

  /**
   * "Last write wins, with merge on conflict": reads without a lock, calls `fn` once, and
   * commits if nobody wrote meanwhile; if someone did, commits `merge(base, mine, theirs)`
   * instead, as often as others keep committing first. No update is lost as long as
   * `merge` keeps what both sides added.
   * @param name The document's file name.
   * @param fn Gets the current value (`undefined` when absent), returns the new one.
   * @param options `merge` (required), `signal`.
   * @returns The value committed (`fn`'s, or the last merge's).
   * @throws `ECORRUPT`; `ELOCKTIMEOUT` (the commit's short lock); `ELOOP`; `ABORT_ERR`; OS errors;
   * whatever `fn` or `merge` throws; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for bad arguments.
   * @example
   * await store.updateMerge('tags.json', (tags = []) => [...tags, 'new'], {
   *   merge: (_base, mine, theirs = []) => [...new Set([...theirs, ...mine])],
   * });
   */
  async updateMerge<T>(name: string, fn: (current: T | undefined) => T | Promise<T>, options: UpdateMergeOptions<T>): Promise<T> {
    const path = this.#path(name);
    if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn);
    const opts = toOptions(options);
    const merge = opts.merge as UpdateMergeOptions<T>['merge'];
    if (typeof merge !== 'function') throw invalidArgType('options.merge', 'of type function', merge);
    const signal = toSignal(opts.signal);
    throwIfAborted(signal);
    await this.#ensureDir();
    // Compare-and-swap on the content version. Each lost round means another writer's
    // commit landed, so the writers as a whole always progress.
    const write = { durability: this.#durability, lockTimeout: this.#lockTimeout, signal, [NO_FOLLOW]: true };
    let data = await readIfExistsNoFollow(path);
    let base = parseJson(path, data) as T | undefined;
    let mine = await fn(base);
    for (;;) {
      const version = data === null ? null : this.#deps.backend.contentVersion(data);
      if (await this.#deps.writeIfVersion(path, serializeJson(mine, 'update result'), version, write)) return mine;
      data = await readIfExistsNoFollow(path);
      const theirs = parseJson(path, data) as T | undefined;
      mine = await merge(base, mine, theirs);
      base = theirs;
    }
  }

  /**
   * Creates a new document `${prefix}_${snowflake}.json` without a lock, named by a
   * Snowflake ID from a worker ID this process leases in the store (held until exit).
   * @param prefix The name's start; may be empty; otherwise the rules of a name.
   * @param content Any JSON-serialisable value.
   * @returns The new document's name.
   * @throws OS errors; `ELOCKTIMEOUT` when every worker ID of the store is leased;
   * `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for a bad prefix or content JSON cannot hold.
   * @example
   * const name = await store.createUnique('event', { type: 'started' }); // 'event_3849...json'
   */
  async createUnique(prefix: string, content: unknown): Promise<string> {
    checkName(prefix, 'prefix', { allowEmpty: true, reserve: UNIQUE_SUFFIX_BYTES + LOCK_SUFFIX.length });
    const bytes = serializeJson(content, 'content');
    await this.#ensureDir();
    const name = `${prefix}_${await this.#deps.ids.next(join(this.dir, LEASE_DIR))}.json`;
    await this.#deps.backend.write(join(this.dir, name), bytes, { ...this.#settings(), noClobber: true });
    return name;
  }

  /**
   * Deletes a document and its lock sidecar, under that lock.
   * @param name The document's file name.
   * @returns `true` if it existed, `false` if not (or the store's directory does not exist).
   * @throws `ELOCKTIMEOUT`; `ELOOP` for a symlink (it is not removed); OS errors;
   * `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for a bad name.
   */
  async delete(name: string): Promise<boolean> {
    const path = this.#path(name);
    const lockPath = `${path}${LOCK_SUFFIX}`;
    // The holder may delete its lock file: a waiter that then gets the lock on the
    // deleted file sees it is no longer the one at the path and locks the new one.
    return this.#deps
      .withLock(
        lockPath,
        async () => {
          const existed = await unlinkDocument(path);
          // Both implementations keep the lock file (the fallback's claim is a marker
          // beside it, removed at release), so the holder removes it here.
          await unlinkIfExists(lockPath);
          // An unlink survives a power cut only once the directory is flushed.
          if (existed && this.#durability !== 'none') await syncDir(this.dir);
          return existed;
        },
        { timeout: this.#lockTimeout },
      )
      .catch((err: unknown) => {
        if (isSystemError(err, 'ENOENT')) return false; // the store's directory does not exist
        throw err;
      });
  }

  /**
   * The documents' names, sorted; never lock sidecars, temp files or the store's own files.
   * @param prefix Only names starting with it. Default `''`: all.
   * @returns The names (`[]` when the directory does not exist).
   * @throws OS errors; `ERR_INVALID_ARG_TYPE` for a non-string prefix.
   */
  async list(prefix = ''): Promise<string[]> {
    if (typeof prefix !== 'string') throw invalidArgType('prefix', 'of type string', prefix);
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (isSystemError(err, 'ENOENT')) return [];
      throw err;
    }
    return names.filter((n) => isDataName(n) && n.startsWith(prefix)).sort();
  }

  #path(name: string): string {
    return join(this.dir, checkName(name, 'name'));
  }

  #settings() {
    return { durability: this.#durability, mode: undefined, noClobber: false };
  }

  #ensureDir(): Promise<unknown> {
    // Through makeParents, so the directories it creates are flushed into their parents.
    this.#ready ??= makeParents(join(this.dir, 'document'), this.#durability).catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }
}

export function createStoreApi(deps: StoreDeps) {
  class ConcurrentFileStore extends ConcurrentFileStoreBase {
    constructor(dir: string | URL, options?: StoreOptions) {
      super(deps, dir, options);
    }
  }
  return { ConcurrentFileStore: ConcurrentFileStore as ConcurrentFileStoreConstructor };
}
