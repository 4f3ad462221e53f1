// JSON files for any path: `readJson`, `writeJson` (an atomic write of the JSON text)
// and `updateJson` (a locked read-modify-write under the sidecar lock of the file the
// path resolves to, so a symlink and its target share one lock and lose no update).
import { open } from 'node:fs/promises';
import type { AtomicWriteData, AtomicWriteOptions } from './atomic';
import type { Durability } from './backend';
import { invalidArgType, invalidArgValue, throwIfAborted } from './errors';
import { CorruptFileError, readIfExists } from './json-file';
import type { LockOptions } from './lock';
import { makeParents } from './parents';
import { resolveFile } from './resolve';
import { toBoolean, toDurability, toOptions, toPath, toSignal, toSpaces, toTimeout } from './validate';
import { namingCallersPath } from './versioned';

/** Options of `writeJson`: those of `atomicWrite` (but `encoding`, always UTF-8) and `spaces`. */
export interface WriteJsonOptions extends Omit<AtomicWriteOptions, 'encoding'> {
  /** Indentation, as `JSON.stringify` takes it. Default 2. */
  spaces?: number | string;
}

/** Options of `updateJson`. */
export interface UpdateJsonOptions {
  /** Default `'full'`. */
  durability?: Durability;
  /** Longest wait for the lock, in ms. Default `Infinity`. */
  timeout?: number;
  /** Cancels the call (or its wait); it rejects with `AbortError` (`ABORT_ERR`). */
  signal?: AbortSignal;
  /** Indentation of the written JSON. Default 2. */
  spaces?: number | string;
  /** Create missing parent directories first. Default `false`. */
  mkdirs?: boolean;
}

type WithLock = <T>(path: string, fn: () => T | Promise<T>, options?: LockOptions) => Promise<T>;
type AtomicWrite = (path: string, data: AtomicWriteData, options?: AtomicWriteOptions) => Promise<void>;

/** A leading byte-order mark is not JSON, but editors write one: it is skipped. */
function parse(path: string, bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new CorruptFileError(path, err);
  }
}

function serialize(value: unknown, spaces: number | string, newline: boolean, name: string): Buffer {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, null, spaces);
  } catch (err) {
    throw invalidArgValue(name, value, `must be serializable as JSON (${(err as Error).message})`);
  }
  if (text === undefined) throw invalidArgValue(name, value, 'must be serializable as JSON');
  return Buffer.from(newline ? `${text}\n` : text);
}

/**
 * Whether the file ends with a newline; true when it is absent or empty (the default),
 * or cannot be read (the write then reports what is wrong).
 */
async function endsWithNewline(path: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch {
    return true;
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return true;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    await handle.close();
  }
}

/** What JSON files need of the API: its atomic write and `withLock`. */
export interface JsonDeps {
  atomicWrite: AtomicWrite;
  withLock: WithLock;
}

export function createJsonApi(deps: JsonDeps) {
  return {
    readJson,
    writeJson: (path: string | URL, value: unknown, options?: WriteJsonOptions): Promise<void> =>
      writeJson(deps.atomicWrite, path, value, options),
    updateJson: <T>(path: string | URL, fn: (current: T | undefined) => T | Promise<T>, options?: UpdateJsonOptions): Promise<T> =>
      updateJson(deps, path, fn, options),
  };
}

/** The parsed JSON at `path`, or undefined when there is no file. Invalid JSON: CorruptFileError. */
async function readJson<T = unknown>(path: string | URL): Promise<T | undefined> {
  const target = toPath(path);
  const bytes = await readIfExists(target);
  return bytes === null ? undefined : (parse(target, bytes) as T);
}

/**
 * Replaces `path` atomically with `value` as JSON (indented by `spaces`), ending in a
 * newline unless the file it replaces did not.
 */
async function writeJson(atomicWrite: AtomicWrite, path: string | URL, value: unknown, options?: WriteJsonOptions): Promise<void> {
  const opts = toOptions(options);
  const target = toPath(path);
  const { spaces, encoding: _, ...writeOptions } = opts;
  const bytes = serialize(value, toSpaces(spaces), true, 'value');
  throwIfAborted(toSignal(opts.signal));
  const newline = await endsWithNewline(target);
  await atomicWrite(target, newline ? bytes : bytes.subarray(0, bytes.length - 1), writeOptions);
}

/** `updateJson`'s path and options, checked (in this order) before anything is touched. */
function toUpdateJsonSettings(path: unknown, options: unknown) {
  const opts = toOptions(options);
  return {
    target: toPath(path),
    spaces: toSpaces(opts.spaces),
    durability: toDurability(opts.durability),
    timeout: toTimeout(opts.timeout, 'options.timeout', Number.POSITIVE_INFINITY),
    signal: toSignal(opts.signal),
    mkdirs: toBoolean(opts.mkdirs, 'options.mkdirs', false),
  };
}

/**
 * Locked read-modify-write: `fn` gets the current value (undefined when absent) and
 * returns the next, written atomically under `${file}.lock`. If `fn` throws, nothing
 * is written. Resolves to what `fn` returned.
 */
async function updateJson<T>(
  { atomicWrite, withLock }: JsonDeps,
  path: string | URL,
  fn: (current: T | undefined) => T | Promise<T>,
  options?: UpdateJsonOptions,
): Promise<T> {
  if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn);
  const { target, spaces, durability, timeout, signal, mkdirs } = toUpdateJsonSettings(path, options);
  throwIfAborted(signal);
  if (mkdirs) await makeParents(target, durability);
  // The file itself (through any symlink): its sidecar is the one lock for every alias.
  const file = await resolveFile(target);
  return withLock(
    `${file}.lock`,
    async () => {
      const bytes = await readIfExists(file);
      const current = bytes === null ? undefined : (parse(target, bytes) as T);
      const next = await fn(current);
      const newline = bytes === null || bytes.length === 0 || bytes[bytes.length - 1] === 0x0a;
      const out = serialize(next, spaces, newline, 'fn result');
      try {
        await atomicWrite(file, out, { durability });
      } catch (err) {
        throw namingCallersPath(err, file, target);
      }
      return next;
    },
    { timeout, signal },
  );
}
