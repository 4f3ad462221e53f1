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

interface Deps {
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

export function createStoreApi(backend: Backend, deps: Deps) {
  class ConcurrentFileStore {
    readonly dir: string;
    readonly #durability: Durability;
    readonly #lockTimeout: number;
    #ready: Promise<unknown> | undefined;

    constructor(dir: string | URL, options?: StoreOptions) {
      const opts = toOptions(options);
      this.dir = resolve(toPath(dir, 'dir'));
      this.#durability = toWriteSettings({ durability: opts.durability }).durability;
      this.#lockTimeout = toTimeout(opts.lockTimeout, 'options.lockTimeout', 30_000);
    }

    /** The parsed document, or undefined if it does not exist. */
    async read<T>(name: string): Promise<T | undefined> {
      const path = this.#path(name);
      return parseJson(path, await readIfExistsNoFollow(path)) as T | undefined;
    }

    /** Locked read-modify-write. If `fn` throws, nothing is written. */
    async update<T>(name: string, fn: (current: T | undefined) => T | Promise<T>): Promise<T> {
      const path = this.#path(name);
      if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn);
      await this.#ensureDir();
      return deps.withLock(
        `${path}.lock`,
        async () => {
          const next = await fn(parseJson(path, await readIfExistsNoFollow(path)) as T | undefined);
          const bytes = serializeJson(next, 'update result');
          await refuseSymlink(path);
          await backend.write(path, bytes, this.#settings());
          return next;
        },
        { timeout: this.#lockTimeout },
      );
    }

    /** Lock-free update: retried with backoff when another writer got there first. */
    async updateOptimistic<T>(name: string, fn: (current: T | undefined) => T | Promise<T>, options?: OptimisticUpdateOptions): Promise<T> {
      const path = this.#path(name);
      await this.#ensureDir();
      const opts = { durability: this.#durability, lockTimeout: this.#lockTimeout, ...toOptions(options), [NO_FOLLOW]: true };
      return deps.optimisticUpdate(path, fn, opts);
    }

    /**
     * "Last write wins, with merge on conflict": reads without a lock, applies `fn`, and
     * commits if nobody wrote meanwhile (compare-and-swap on the content version). If
     * someone did, `merge(base, mine, theirs)` decides, and that is committed the same way,
     * as often as others keep committing first (each lost round means another writer's
     * commit landed, so the writers as a whole always progress). No update is lost as
     * long as `merge` keeps what both sides added.
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
      const write = { durability: this.#durability, lockTimeout: this.#lockTimeout, signal, [NO_FOLLOW]: true };
      let data = await readIfExistsNoFollow(path);
      let base = parseJson(path, data) as T | undefined;
      let mine = await fn(base);
      for (;;) {
        const version = data === null ? null : backend.contentVersion(data);
        if (await deps.writeIfVersion(path, serializeJson(mine, 'update result'), version, write)) return mine;
        data = await readIfExistsNoFollow(path);
        const theirs = parseJson(path, data) as T | undefined;
        mine = await merge(base, mine, theirs);
        base = theirs;
      }
    }

    /** Writes `${prefix}_${snowflake}.json` without a lock; returns the name. */
    async createUnique(prefix: string, content: unknown): Promise<string> {
      checkName(prefix, 'prefix', { allowEmpty: true, reserve: UNIQUE_SUFFIX_BYTES + LOCK_SUFFIX.length });
      const bytes = serializeJson(content, 'content');
      await this.#ensureDir();
      const name = `${prefix}_${await deps.ids.next(join(this.dir, LEASE_DIR))}.json`;
      await backend.write(join(this.dir, name), bytes, { ...this.#settings(), noClobber: true });
      return name;
    }

    /**
     * Deletes the document and its lock sidecar, under that lock; false if it did not
     * exist. The holder may delete its lock file: a waiter that then gets the lock on the
     * deleted file sees it is no longer the one at the path and locks the new one.
     */
    async delete(name: string): Promise<boolean> {
      const path = this.#path(name);
      const lockPath = `${path}${LOCK_SUFFIX}`;
      return deps
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

    /** Names of the documents (optionally starting with `prefix`), sorted. */
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

  return { ConcurrentFileStore };
}
