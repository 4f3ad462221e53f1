// Atomic writes: argument checks in front of the implementation's write path, and the
// per-path queue that makes calls from this process to one path commit in call order.
import { resolve } from 'node:path';
import type { AtomicFileHandle, Backend, Durability } from './backend';
import { abortError, invalidArgType, systemError, throwIfAborted } from './errors';
import { toBytes, toEncoding, toOptions, toPath, toSignal, toWriteSettings } from './validate';

export interface AtomicWriteOptions {
  /** How hard to flush before returning. Default `'full'`. */
  durability?: Durability;
  /** Exact permission bits (not masked by the umask). Default: keep the old file's. */
  mode?: number;
  /** Encoding of string data. Default `'utf8'`. */
  encoding?: BufferEncoding;
  /** Fail with `EEXIST` if the file exists. Default `false`. */
  noClobber?: boolean;
  signal?: AbortSignal;
}

/** A file being written in pieces; the target changes only on `commit()`. */
export interface AtomicFile {
  readonly path: string;
  write(chunk: string | Uint8Array): Promise<void>;
  commit(): Promise<void>;
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
  return { target, bytes, settings, signal };
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

function inCallOrder<T>(path: string, run: () => Promise<T>): Promise<T> {
  const key = resolve(path);
  const previous = queues.get(key);
  const result = previous === undefined ? run() : previous.then(run);
  const tail = result.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return result;
}

export function createAtomicApi(backend: Backend) {
  function atomicWriteSync(path: string | URL, data: AtomicWriteData, options?: AtomicWriteOptions): void {
    const { target, bytes, settings, signal } = prepare(path, data, options);
    throwIfAborted(signal);
    backend.writeSync(target, bytes, settings);
  }

  async function atomicWrite(path: string | URL, data: AtomicWriteData, options?: AtomicWriteOptions): Promise<void> {
    const { target, bytes, settings, signal } = prepare(path, data, options);
    throwIfAborted(signal);
    await inCallOrder(target, () => {
      throwIfAborted(signal);
      return backend.write(target, bytes, settings);
    });
  }

  function createExclusiveSync(path: string | URL, data: AtomicWriteData, options?: AtomicWriteOptions): boolean {
    const { target, bytes, settings, signal } = prepare(path, data, options);
    throwIfAborted(signal);
    return backend.createExclusiveSync(target, bytes, settings);
  }

  async function createExclusive(path: string | URL, data: AtomicWriteData, options?: AtomicWriteOptions): Promise<boolean> {
    const { target, bytes, settings, signal } = prepare(path, data, options);
    throwIfAborted(signal);
    return inCallOrder(target, () => {
      throwIfAborted(signal);
      return backend.createExclusive(target, bytes, settings);
    });
  }

  async function openAtomic(path: string | URL, options?: AtomicWriteOptions): Promise<AtomicFile> {
    const { target, settings, signal } = prepare(path, '', options);
    const encoding = toEncoding(toOptions(options).encoding);
    throwIfAborted(signal);
    const handle = await backend.openAtomic(target, settings);
    return new StreamedAtomicFile(target, handle, encoding, signal);
  }

  return { atomicWrite, atomicWriteSync, createExclusive, createExclusiveSync, openAtomic };
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
      await inCallOrder(this.path, () => this.handle.commit());
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
