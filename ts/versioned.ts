// Optimistic concurrency: content versions, conditional writes under the sidecar lock
// `${file}.lock` of the file the path resolves to (so a symlink and its target share one
// lock), compare-and-swap of JSON values, and optimisticUpdate, which runs the caller's
// transform outside any lock and retries with backoff on conflict.
import { isDeepStrictEqual } from 'node:util';
import type { AtomicWriteOptions } from './atomic';
import type { Backend } from './backend';
import { ConflictError, invalidArgType, throwIfAborted } from './errors';
import { parseJson, readIfExists, serializeJson } from './json-file';
import type { LockOptions } from './lock';
import { readIfExistsNoFollow, refuseSymlink } from './no-follow';
import { resolveFile } from './resolve';
import { type BackoffOptions, backoffDelays, delay, retryCount } from './retry';
import { toBytes, toEncoding, toOptions, toPath, toSignal, toTimeout, toWriteSettings } from './validate';

/** A file's content and its version, from `readVersioned`. */
export interface Versioned {
  /** The file's bytes, or null when it does not exist. */
  data: Buffer | null;
  /** Content hash (hex) of `data`, or null when the file does not exist. */
  version: string | null;
}

/** Options of `writeIfVersion` and `compareAndSwap`: `atomicWrite`'s and `lockTimeout`. */
export interface ConditionalWriteOptions extends AtomicWriteOptions {
  /** Longest wait for the sidecar lock, in ms. Default 30000. */
  lockTimeout?: number;
}

/** Options of `optimisticUpdate` and `ConcurrentFileStore.updateOptimistic`. */
export interface OptimisticUpdateOptions extends Omit<ConditionalWriteOptions, 'noClobber' | 'encoding'> {
  /** Retries after the first attempt. Default 10. */
  retries?: number;
  /** Delays between attempts (see `BackoffOptions`; default 10 ms doubling to 1000 ms, full jitter). */
  backoff?: BackoffOptions;
  /** Called after each lost race, with the attempt number (from 1). */
  onConflict?: (attempt: number) => void;
}

type WithLock = <T>(path: string, fn: () => T | Promise<T>, options?: LockOptions) => Promise<T>;

const DEFAULT_LOCK_TIMEOUT = 30_000;

/**
 * Internal option, the store's: the path is the file itself, and a symlink there is
 * refused with ELOOP instead of followed (a document never leads out of its directory).
 */
export const NO_FOLLOW: unique symbol = Symbol('concurrent-fs.noFollow');

/** How a call treats a symlink at its path: followed to the file it names, or refused. */
function follows(options: object | undefined): boolean {
  return (options as { [NO_FOLLOW]?: boolean } | undefined)?.[NO_FOLLOW] !== true;
}

/** The file a call works on (and whose sidecar it locks), and how to read it. */
async function fileOf(target: string, follow: boolean) {
  if (follow) return { file: await resolveFile(target), read: readIfExists, beforeWrite: async () => {} };
  return { file: target, read: readIfExistsNoFollow, beforeWrite: refuseSymlink };
}

/** Errors name the path the caller gave, not the file a symlink led to. */
export function namingCallersPath(err: unknown, file: string, target: string): unknown {
  if (file === target || !(err instanceof Error)) return err;
  const named = err as Error & { path?: unknown };
  if (named.path !== file) return err;
  named.path = target;
  named.message = named.message.split(`'${file}'`).join(`'${target}'`);
  return err;
}

/** What conditional writes need: the implementation's writes and versions, and the API's `withLock`. */
export interface VersionDeps {
  backend: Backend;
  withLock: WithLock;
}

export function createVersionApi(deps: VersionDeps) {
  return {
    /** A file's bytes and version, both null when it does not exist. */
    readVersioned: async (path: string | URL): Promise<Versioned> => {
      const data = await readIfExists(toPath(path));
      return { data, version: versionOf(deps.backend, data) };
    },
    writeIfVersion: (path: string | URL, data: string | ArrayBufferView, expected: string | null, options?: ConditionalWriteOptions) =>
      writeIfVersion(deps, path, data, expected, options),
    compareAndSwap: (path: string | URL, expected: unknown, next: unknown, options?: ConditionalWriteOptions) =>
      compareAndSwap(deps, path, expected, next, options),
    optimisticUpdate: <T>(path: string | URL, transform: (current: T | undefined) => T | Promise<T>, options?: OptimisticUpdateOptions) =>
      optimisticUpdate(deps, path, transform, options),
  };
}

function versionOf(backend: Backend, data: Buffer | null): string | null {
  return data === null ? null : backend.contentVersion(data);
}

/**
 * Runs `check` on the current bytes under the sidecar lock of the file `target`
 * resolves to; writes `bytes` to that file if it passes. Reading and writing the
 * resolved file, not the link, keeps the lock and the data on one file even if the
 * link is retargeted meanwhile.
 */
async function writeIf(
  { backend, withLock }: VersionDeps,
  target: string,
  bytes: Uint8Array,
  options: Record<string, unknown>,
  check: (current: Buffer | null) => boolean,
): Promise<boolean> {
  const settings = toWriteSettings(options);
  const signal = toSignal(options.signal);
  const timeout = toTimeout(options.lockTimeout, 'options.lockTimeout', DEFAULT_LOCK_TIMEOUT);
  throwIfAborted(signal);
  const { file, read, beforeWrite } = await fileOf(target, follows(options));
  return withLock(
    `${file}.lock`,
    async () => {
      try {
        if (!check(await read(file))) return false;
        await beforeWrite(file);
        await backend.write(file, bytes, settings);
        return true;
      } catch (err) {
        throw namingCallersPath(err, file, target);
      }
    },
    { timeout, signal },
  );
}

/** Writes `data` only if the file's version is still `expected` (null: only if absent). */
async function writeIfVersion(
  deps: VersionDeps,
  path: string | URL,
  data: string | ArrayBufferView,
  expected: string | null,
  options?: ConditionalWriteOptions,
): Promise<boolean> {
  const opts = toOptions(options);
  const target = toPath(path);
  const bytes = toBytes(data, toEncoding(opts.encoding));
  if (expected !== null && typeof expected !== 'string') throw invalidArgType('expected', 'of type string or null', expected);
  return writeIf(deps, target, bytes, opts, (current) => versionOf(deps.backend, current) === expected);
}

/** Replaces the JSON value `expected` with `next` (expected undefined: only if absent). */
async function compareAndSwap(
  deps: VersionDeps,
  path: string | URL,
  expected: unknown,
  next: unknown,
  options?: ConditionalWriteOptions,
): Promise<boolean> {
  const opts = toOptions(options);
  const target = toPath(path);
  const bytes = serializeJson(next, 'next');
  return writeIf(deps, target, bytes, opts, (current) => {
    if (expected === undefined) return current === null;
    return current !== null && isDeepStrictEqual(parseJson(target, current), expected);
  });
}

/** `optimisticUpdate`'s path and options, checked (in this order) before anything is read. */
function toUpdateSettings(path: unknown, options: unknown) {
  const opts = toOptions(options);
  const settings = {
    target: toPath(path),
    retries: retryCount(opts.retries),
    signal: toSignal(opts.signal),
    onConflict: opts.onConflict as ((attempt: number) => void) | undefined,
    waits: backoffDelays(opts.backoff as BackoffOptions | undefined)[Symbol.iterator](),
    writeOptions: { ...opts, noClobber: false },
    read: follows(opts) ? readIfExists : readIfExistsNoFollow,
  };
  toWriteSettings(settings.writeOptions);
  return settings;
}

/**
 * Reads without a lock, transforms, and commits only if nobody wrote in between; on a
 * lost race it backs off and starts again. No update is ever lost.
 */
async function optimisticUpdate<T>(
  deps: VersionDeps,
  path: string | URL,
  transform: (current: T | undefined) => T | Promise<T>,
  options?: OptimisticUpdateOptions,
): Promise<T> {
  if (typeof transform !== 'function') throw invalidArgType('transform', 'of type function', transform);
  const { target, retries, signal, onConflict, waits, read, writeOptions } = toUpdateSettings(path, options);
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(signal);
    const data = await read(target);
    const version = versionOf(deps.backend, data);
    const next = await transform(parseJson(target, data) as T | undefined);
    if (await writeIfVersion(deps, target, serializeJson(next, 'transform result'), version, writeOptions)) return next;
    onConflict?.(attempt);
    if (attempt > retries) throw new ConflictError(target, attempt);
    await delay(waits.next().value, signal);
  }
}
