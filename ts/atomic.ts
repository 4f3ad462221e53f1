// Atomic writes: argument checks in front of the implementation's write path, and the
// per-path queue that makes calls from this process to one path commit in call order.
import { resolve } from 'node:path';
import type { AtomicFileHandle, Backend, Durability, WriteManyEntry, WriteSettings } from './backend';
import { abortError, invalidArgType, type SystemError, systemError, throwIfAborted } from './errors';
import { makeParents, makeParentsSync } from './parents';
import { toBoolean, toBytes, toDurability, toEncoding, toMode, toOptions, toPath, toSignal, toWriteSettings } from './validate';

/** Options of `atomicWrite`, `atomicWriteSync`, `createExclusive(Sync)` and `openAtomic`. */
export interface AtomicWriteOptions {
  /** How hard to flush before returning. Default `'full'`. */
  durability?: Durability;
  /** Exact permission bits (not masked by the umask). Default: keep the old file's. */
  mode?: number;
  /** Encoding of string data. Default `'utf8'`. */
  encoding?: BufferEncoding;
  /** Fail with `EEXIST` if the file exists. Default `false`. */
  noClobber?: boolean;
  /**
   * Create missing parent directories first (as `fs.mkdir` with `recursive`); unless
   * `durability` is `'none'`, each created directory's parent is flushed. Default `false`.
   */
  mkdirs?: boolean;
  /** Cancels the call (or its wait); it rejects with `AbortError` (`ABORT_ERR`). */
  signal?: AbortSignal;
}

/** One file of `atomicWriteMany`. */
export interface AtomicWriteManyEntry {
  /** The file to replace. */
  path: string | URL;
  /** Its new content (strings in `options.encoding`). */
  data: AtomicWriteData;
  /** Exact permission bits (not masked by the umask). Default: keep the old file's. */
  mode?: number;
}

/** Options of `atomicWriteMany`, applied to every file. */
export interface AtomicWriteManyOptions {
  /** How hard to flush before resolving, for every file. Default `'full'`. */
  durability?: Durability;
  /** Encoding of string data. Default `'utf8'`. */
  encoding?: BufferEncoding;
  /** Create missing parent directories first (see `AtomicWriteOptions.mkdirs`). Default `false`. */
  mkdirs?: boolean;
  /** Cancels the call (or its wait); it rejects with `AbortError` (`ABORT_ERR`). */
  signal?: AbortSignal;
}

/** How `atomicWriteMany` fails: the first error, and the paths (as given) put in place before it. */
export interface AtomicWriteManyError extends SystemError {
  /** The paths (as given, in entry order) renamed into place before the failure: they hold their new content. */
  written: string[];
}

/** A file being written in pieces; the target changes only on `commit()`. */
export interface AtomicFile {
  /** The file this replaces on `commit()`, as given. */
  readonly path: string;
  /**
   * Appends a chunk to the temp file. Writes land in call order; no need to await each.
   * @param chunk A string (in `options.encoding`) or bytes.
   * @returns Resolves when the chunk is written (not flushed).
   * @throws `EBADF` after `commit` or `abort`; `ABORT_ERR` when the `signal` aborted (the temp
   * file is then removed); OS errors (`ENOSPC` ...); `ERR_INVALID_ARG_TYPE` for another chunk type.
   */
  write(chunk: string | Uint8Array): Promise<void>;
  /**
   * Flushes the temp file as `durability` asks and renames it over `path`, as `atomicWrite` does.
   * @returns Resolves once the new content is in place (and flushed).
   * @throws As `write`; `EEXIST` with `noClobber`; `err.committed === true` when only the
   * directory flush failed.
   * @example
   * await file.commit();
   */
  commit(): Promise<void>;
  /**
   * Drops the write: the temp file is removed, `path` is untouched. Does nothing after
   * `commit` or a previous `abort`.
   * @returns Resolves once the temp file is gone.
   */
  abort(): Promise<void>;
}

/** A string (in `options.encoding`), a Buffer, or any typed array or DataView. */
export type AtomicWriteData = string | ArrayBufferView;

function prepare(path: unknown, data: unknown, options: unknown) {
  const opts = toOptions(options);
  const signal = toSignal(opts.signal);
  const target = toPath(path);
  const bytes = toBytes(data, toEncoding(opts.encoding));
  const settings = toWriteSettings(opts);
  const mkdirs = toBoolean(opts.mkdirs, 'options.mkdirs', false);
  return { target, bytes, settings, signal, mkdirs };
}

/** Every entry checked (errors name `entries[i].path` ...) before any file is touched. */
function prepareMany(entries: unknown, options: unknown) {
  const opts = toOptions(options);
  const signal = toSignal(opts.signal);
  const durability = toDurability(opts.durability);
  const encoding = toEncoding(opts.encoding);
  const mkdirs = toBoolean(opts.mkdirs, 'options.mkdirs', false);
  if (!Array.isArray(entries)) throw invalidArgType('entries', 'an instance of Array', entries);
  const checked = entries.map((entry: unknown, i): WriteManyEntry => {
    const name = `entries[${i}]`;
    if (typeof entry !== 'object' || entry === null) throw invalidArgType(name, 'of type object', entry);
    const { path, data, mode } = entry as Record<string, unknown>;
    return { path: toPath(path, `${name}.path`), data: toBytes(data, encoding, `${name}.data`), mode: toMode(mode, `${name}.mode`) };
  });
  return { entries: checked, durability, signal, mkdirs };
}

/**
 * The last queued commit per path (absolute, as text) in this process, for every
 * implementation loaded. Two async calls to one path run one after the other, in call
 * order, so the last call's content is what stays (as write-file-atomic promises);
 * calls to different paths never wait for each other. An uncontended call runs at once,
 * and its entry is removed when nothing is queued behind it. Aliases of one file (a
 * link and its target) are distinct keys: one process writing both at once is not ordered.
 * Sync calls cannot wait, so they are not queued.
 */
const queues = new Map<string, Promise<void>>();

/** `run` after every queued commit to any of `paths`; later calls to them wait for it. */
function inCallOrder<T>(paths: string[], run: () => Promise<T>): Promise<T> {
  const keys = [...new Set(paths.map((path) => resolve(path)))];
  const previous = keys.map((key) => queues.get(key)).filter((tail) => tail !== undefined);
  const result = previous.length === 0 ? run() : Promise.all(previous).then(run);
  const tail = result.then(
    () => undefined,
    () => undefined,
  );
  for (const key of keys) queues.set(key, tail);
  void tail.then(() => {
    for (const key of keys) if (queues.get(key) === tail) queues.delete(key);
  });
  return result;
}

export function createAtomicApi(backend: Backend) {
  return {
    atomicWrite: (path: string | URL, data: AtomicWriteData, options?: AtomicWriteOptions): Promise<void> =>
      writeQueued(path, data, options, (target, bytes, settings) => backend.write(target, bytes, settings)),
    atomicWriteSync: (path: string | URL, data: AtomicWriteData, options?: AtomicWriteOptions): void =>
      writeNow(path, data, options, (target, bytes, settings) => backend.writeSync(target, bytes, settings)),
    atomicWriteMany: (entries: AtomicWriteManyEntry[], options?: AtomicWriteManyOptions): Promise<void> =>
      atomicWriteMany(backend, entries, options),
    createExclusive: (path: string | URL, data: AtomicWriteData, options?: AtomicWriteOptions): Promise<boolean> =>
      writeQueued(path, data, options, (target, bytes, settings) => backend.createExclusive(target, bytes, settings)),
    createExclusiveSync: (path: string | URL, data: AtomicWriteData, options?: AtomicWriteOptions): boolean =>
      writeNow(path, data, options, (target, bytes, settings) => backend.createExclusiveSync(target, bytes, settings)),
    openAtomic: (path: string | URL, options?: AtomicWriteOptions): Promise<AtomicFile> => openAtomic(backend, path, options),
  };
}

/** One write of a whole file by the backend: `atomicWrite`'s or `createExclusive`'s. */
type WholeWrite<R> = (target: string, bytes: Uint8Array, settings: WriteSettings) => R;

/** Checks the arguments, makes the parents if asked, and runs `write` blocking: not queued (a sync call cannot wait). */
function writeNow<R>(path: unknown, data: unknown, options: unknown, write: WholeWrite<R>): R {
  const { target, bytes, settings, signal, mkdirs } = prepare(path, data, options);
  throwIfAborted(signal);
  if (mkdirs) makeParentsSync(target, settings.durability);
  return write(target, bytes, settings);
}

/** Checks the arguments, makes the parents if asked, and runs `write` after the calls to the same path before it. */
async function writeQueued<R>(path: unknown, data: unknown, options: unknown, write: WholeWrite<Promise<R>>): Promise<R> {
  const { target, bytes, settings, signal, mkdirs } = prepare(path, data, options);
  throwIfAborted(signal);
  if (mkdirs) await makeParents(target, settings.durability);
  return inCallOrder([target], () => {
    throwIfAborted(signal);
    return write(target, bytes, settings);
  });
}

async function openAtomic(backend: Backend, path: string | URL, options?: AtomicWriteOptions): Promise<AtomicFile> {
  const { target, settings, signal, mkdirs } = prepare(path, '', options);
  const encoding = toEncoding(toOptions(options).encoding);
  throwIfAborted(signal);
  if (mkdirs) await makeParents(target, settings.durability);
  const handle = await backend.openAtomic(target, settings);
  return new StreamedAtomicFile(target, handle, encoding, signal);
}

/**
 * Writes many files, each atomically, sharing the flushes: all temps are flushed
 * together, then renamed in entry order (a later entry for one path wins), then each
 * directory is flushed once. Not all-or-nothing: on failure it rejects with the first
 * error, every file holds its old or new content, and `err.written` lists the paths
 * renamed into place (with `err.committed` when only a directory flush failed).
 */
async function atomicWriteMany(backend: Backend, entries: AtomicWriteManyEntry[], options?: AtomicWriteManyOptions): Promise<void> {
  const batch = prepareMany(entries, options);
  throwIfAborted(batch.signal);
  if (batch.entries.length === 0) return;
  if (batch.mkdirs) for (const entry of batch.entries) await makeParents(entry.path, batch.durability);
  const paths = batch.entries.map((entry) => entry.path);
  await inCallOrder(paths, () => {
    throwIfAborted(batch.signal);
    return backend.writeMany(batch.entries, batch.durability);
  });
}

/** Serialises calls (a stream's writes must land in order) and handles the signal. */
class StreamedAtomicFile implements AtomicFile {
  #queue: Promise<unknown> = Promise.resolve();
  #state: 'open' | 'committed' | 'aborted' = 'open';

  constructor(
    readonly path: string,
    private readonly handle: AtomicFileHandle,
    private readonly encoding: BufferEncoding,
    private readonly signal: AbortSignal | undefined,
  ) {}

  write(chunk: string | Uint8Array): Promise<void> {
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
      return Promise.reject(invalidArgType('chunk', 'of type string or an instance of Uint8Array', chunk));
    }
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, this.encoding) : chunk;
    return this.#enqueue('write', () => this.handle.write(bytes));
  }

  commit(): Promise<void> {
    return this.#enqueue('rename', async () => {
      await inCallOrder([this.path], () => this.handle.commit());
      this.#state = 'committed';
    });
  }

  abort(): Promise<void> {
    if (this.#state !== 'open') return Promise.resolve();
    this.#state = 'aborted';
    return this.#queue.then(
      () => this.handle.abort(),
      () => this.handle.abort(),
    );
  }

  #enqueue(syscall: string, step: () => Promise<void>): Promise<void> {
    const run = async () => {
      if (this.#state !== 'open') throw systemError({ code: 'EBADF', syscall, path: this.path });
      if (this.signal?.aborted) {
        this.#state = 'aborted';
        await this.handle.abort();
        throw abortError(this.signal);
      }
      await step();
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }
}
