// Error classes and the Node-style error constructors every implementation shares.
// They live in one module so `instanceof` works whichever entry point made the error.
import { constants } from 'node:os';
import { getSystemErrorMap, getSystemErrorName } from 'node:util';

/** An OS failure, shaped like the errors Node's `fs` throws. */
export interface SystemError extends Error {
  /** The OS error's name, e.g. `'ENOENT'`, `'EACCES'`, `'EEXIST'` (an errno without a libuv name keeps its own, e.g. `'ENXIO'`). */
  code: string;
  /** Node's (negative, libuv) number for `code`, as `fs` reports it; `0` when it has none. */
  errno: number;
  /** The system call that failed, e.g. `'open'`, `'rename'`, `'fsync'`, `'flock'`. */
  syscall: string;
  /** The path the caller gave, when the failure concerns one. */
  path?: string;
  /** Atomic writes only: the new content is in place; its durability is unknown. */
  committed?: boolean;
}

/** libuv's errors by name: its (negative) errno and the message Node prints. */
const LIBUV = new Map<string, { errno: number; message: string }>();
for (const [errno, [name, message]] of getSystemErrorMap()) if (!LIBUV.has(name)) LIBUV.set(name, { errno, message });

/** Codes this library reports that some supported Node's libuv has no entry for. */
const MORE_MESSAGES: Record<string, string> = {
  EDEADLK: 'resource deadlock avoided',
  EDQUOT: 'disk quota exceeded',
  ENOLCK: 'no locks available',
  ESTALE: 'stale file handle',
};

/** Node's wording for an error code ("no such file or directory"). */
export function describeCode(code: string): string | undefined {
  return LIBUV.get(code)?.message ?? MORE_MESSAGES[code];
}

const PLATFORM_ERRNOS = constants.errno as Record<string, number>;

/**
 * The name of a raw (positive) errno, as Node's fs names it: libuv's name first (so
 * ENOTSUP, not EOPNOTSUPP), then the platform's own list; undefined if neither knows it.
 * Not for Windows, where the addon's raw errors are Win32 codes.
 */
export function errnoName(errno: number): string | undefined {
  const name = getSystemErrorName(-errno);
  if (!name.startsWith('Unknown system error')) return name;
  return Object.keys(PLATFORM_ERRNOS).find((code) => PLATFORM_ERRNOS[code] === errno);
}

export function systemError(fields: {
  code: string;
  syscall: string;
  path?: string;
  message?: string;
  committed?: boolean;
  /** What went wrong, when the code has no Node wording. */
  description?: string;
}): SystemError {
  const description = describeCode(fields.code) ?? fields.description ?? 'unknown error';
  const text = fields.message ?? `${fields.code}: ${description}, ${fields.syscall}${fields.path === undefined ? '' : ` '${fields.path}'`}`;
  const err = new Error(text) as SystemError;
  err.code = fields.code;
  err.errno = LIBUV.get(fields.code)?.errno ?? -(PLATFORM_ERRNOS[fields.code] ?? 0);
  err.syscall = fields.syscall;
  if (fields.path !== undefined) err.path = fields.path;
  if (fields.committed) err.committed = true;
  return err;
}

export function isSystemError(err: unknown, code?: string): err is SystemError {
  return (
    err instanceof Error && typeof (err as SystemError).code === 'string' && (code === undefined || (err as SystemError).code === code)
  );
}

/**
 * The base of the library's error classes, so that each states only what is its own.
 * Every one has a constant `name` (its class's) and `code`, a message that starts with
 * the code, and its fields as own enumerable properties ahead of `name` and `code`, in
 * the order class fields gave them before this base existed (`util.inspect` shows them so).
 * @internal
 */
export class CodedError<Name extends string, Code extends string> extends Error {
  /** Always the class's name, e.g. `'LockTimeoutError'` (its type says which). */
  declare readonly name: Name;
  /** Always the class's code, e.g. `'ELOCKTIMEOUT'` (its type says which). */
  declare readonly code: Code;
  protected constructor(name: Name, code: Code, detail: string, fields: object) {
    super(`${code}: ${detail}`);
    Object.assign(this, fields);
    this.name = name;
    this.code = code;
  }
}

/**
 * A lock (or a worker-ID or port lease) was not had within `timeout` ms. `code` `'ELOCKTIMEOUT'`, `path` the lock file (the lease directory for leases).
 */
export class LockTimeoutError extends CodedError<'LockTimeoutError', 'ELOCKTIMEOUT'> {
  /** The lock file waited for; for `leaseWorkerId` and `leasePort`, the lease directory. */
  declare readonly path: string;
  /** How long the call waited, in ms (`0`: it tried once). */
  declare readonly timeout: number;
  /**
   * @param path The lock file waited for; for `leaseWorkerId` and `leasePort`, the lease directory.
   * @param timeout How long the call waited, in ms (`0`: it tried once).
   */
  constructor(path: string, timeout: number) {
    super('LockTimeoutError', 'ELOCKTIMEOUT', `lock not acquired within ${timeout} ms, '${path}'`, { path, timeout });
  }
}

/** `optimisticUpdate` lost the race on `path` on every attempt. `code` `'ECONFLICT'`; `attempts` made. */
export class ConflictError extends CodedError<'ConflictError', 'ECONFLICT'> {
  /** The file that kept changing, as the caller named it. */
  declare readonly path: string;
  /** How many times the transform ran (`retries + 1`). */
  declare readonly attempts: number;
  /**
   * @param path The file that kept changing, as the caller named it.
   * @param attempts How many times the transform ran (`retries + 1`).
   */
  constructor(path: string, attempts: number) {
    super('ConflictError', 'ECONFLICT', `'${path}' kept changing; gave up after ${attempts} attempts`, { path, attempts });
  }
}

/**
 * A Snowflake generator refused to follow a clock that went backwards: with
 * `clockBackwards: 'throw'`, or further back than `'wait'` waits out. `behind` is in ms.
 */
export class ClockBackwardsError extends CodedError<'ClockBackwardsError', 'ECLOCKBACKWARDS'> {
  /** How far (ms) the clock is behind the last time an ID was minted at. */
  declare readonly behind: number;
  /** @param behind How far (ms) the clock is behind the last time an ID was minted at. */
  constructor(behind: number) {
    const detail = `the clock moved backwards by ${behind.toFixed(3)} ms; refusing to mint IDs that could repeat`;
    super('ClockBackwardsError', 'ECLOCKBACKWARDS', detail, { behind });
  }
}

/** Rejection for a cancelled operation, as `timers/promises` makes it. */
export class AbortError extends Error {
  /** Always `'AbortError'`. */
  override readonly name = 'AbortError';
  /** Always `'ABORT_ERR'`; `cause` is the signal's `reason`. */
  readonly code = 'ABORT_ERR';
  constructor(options?: { cause?: unknown }) {
    super('The operation was aborted', options);
  }
}

export function abortError(signal: AbortSignal): AbortError {
  return new AbortError({ cause: signal.reason });
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

type NodeErrorCode = 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE';

function withCode<E extends Error>(err: E, code: NodeErrorCode): E & { code: NodeErrorCode } {
  return Object.assign(err, { code });
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return `Received ${value}`;
  if (typeof value === 'function') return `Received function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') return `Received an instance of ${value.constructor?.name ?? 'Object'}`;
  let shown = String(value);
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  if (typeof value === 'string') shown = `'${shown}'`;
  return `Received type ${typeof value} (${shown})`;
}

export function invalidArgType(name: string, expected: string, value: unknown): TypeError {
  return withCode(new TypeError(`The "${name}" argument must be ${expected}. ${describeValue(value)}`), 'ERR_INVALID_ARG_TYPE');
}

export function invalidArgValue(name: string, value: unknown, reason: string): TypeError {
  let shown: string;
  try {
    shown = typeof value === 'string' ? `'${value.replace(/\0/g, '\\x00')}'` : String(value);
  } catch {
    shown = Object.prototype.toString.call(value);
  }
  return withCode(new TypeError(`The argument '${name}' ${reason}. Received ${shown}`), 'ERR_INVALID_ARG_VALUE');
}

export function outOfRange(name: string, range: string, value: unknown): RangeError {
  return withCode(
    new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${String(value)}`),
    'ERR_OUT_OF_RANGE',
  );
}

/** ERR_OUT_OF_RANGE for a limit reached at run time rather than a bad argument. */
export function rangeError(message: string): RangeError {
  return withCode(new RangeError(message), 'ERR_OUT_OF_RANGE');
}
