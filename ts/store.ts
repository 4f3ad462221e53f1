// ConcurrentFileStore: a directory of JSON documents shared by many processes.
// `update` is the locked read-modify-write; `updateOptimistic` the lock-free one;
// `createUnique` names new documents with Snowflake IDs from a leased worker ID.
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Backend, Durability } from './backend';
import { invalidArgType, invalidArgValue, isSystemError } from './errors';
import { readJson, serializeJson } from './json-file';
import type { LockOptions } from './lock';
import { toOptions, toPath, toTimeout, toWriteSettings } from './validate';
import type { OptimisticUpdateOptions } from './versioned';

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
}

/** Worker-ID leases for createUnique live here: hidden, so `list` never shows them. */
const LEASE_DIR = '.workers';

function checkName(name: unknown, label: string, allowEmpty = false): string {
  if (typeof name !== 'string') throw invalidArgType(label, 'of type string', name);
  const bad =
    (!allowEmpty && name === '') || /[/\\\0]/.test(name) || name === '.' || name === '..' || name.startsWith('.') || name.endsWith('.lock');
  if (bad)
    throw invalidArgValue(
      label,
      name,
      "must be a single file name: not empty, no '/', '\\' or NUL, not starting with '.', not ending with '.lock'",
    );
  return name;
}

/** Data files only: never lock sidecars, temp files or the lease directory. */
function isDataName(name: string): boolean {
  return !name.startsWith('.') && !name.endsWith('.lock');
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
      return (await readJson(this.#path(name))) as T | undefined;
    }

    /** Locked read-modify-write. If `fn` throws, nothing is written. */
    async update<T>(name: string, fn: (current: T | undefined) => T | Promise<T>): Promise<T> {
      const path = this.#path(name);
      if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn);
      await this.#ensureDir();
      return deps.withLock(
        `${path}.lock`,
        async () => {
          const next = await fn((await readJson(path)) as T | undefined);
          await backend.write(path, serializeJson(next, 'update result'), this.#settings());
          return next;
        },
        { timeout: this.#lockTimeout },
      );
    }

    /** Lock-free update: retried with backoff when another writer got there first. */
    async updateOptimistic<T>(name: string, fn: (current: T | undefined) => T | Promise<T>, options?: OptimisticUpdateOptions): Promise<T> {
      const path = this.#path(name);
      await this.#ensureDir();
      return deps.optimisticUpdate(path, fn, { durability: this.#durability, lockTimeout: this.#lockTimeout, ...toOptions(options) });
    }

    /** Writes `${prefix}_${snowflake}.json` without a lock; returns the name. */
    async createUnique(prefix: string, content: unknown): Promise<string> {
      checkName(prefix, 'prefix', true);
      const bytes = serializeJson(content, 'content');
      await this.#ensureDir();
      const name = `${prefix}_${await deps.ids.next(join(this.dir, LEASE_DIR))}.json`;
      await backend.write(join(this.dir, name), bytes, { ...this.#settings(), noClobber: true });
      return name;
    }

    /** Deletes the document (under its lock); false if it did not exist. */
    async delete(name: string): Promise<boolean> {
      const path = this.#path(name);
      return deps
        .withLock(
          `${path}.lock`,
          async () => {
            try {
              await unlink(path);
              return true;
            } catch (err) {
              if (isSystemError(err, 'ENOENT')) return false;
              throw err;
            }
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
      this.#ready ??= mkdir(this.dir, { recursive: true }).catch((err: unknown) => {
        this.#ready = undefined;
        throw err;
      });
      return this.#ready;
    }
  }

  return { ConcurrentFileStore };
}
