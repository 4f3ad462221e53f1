// Error classes and the Node-style error constructors every implementation shares.
// They live in one module so `instanceof` works whichever entry point made the error.
import { constants } from 'node:os';

/** An OS failure, shaped like the errors Node's `fs` throws. */
export interface SystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
  /** Atomic writes only: the new content is in place; its durability is unknown. */
  committed?: boolean;
}

const MESSAGES: Record<string, string> = {
  EACCES: 'permission denied',
  EBADF: 'bad file descriptor',
  EBUSY: 'resource busy or locked',
  EEXIST: 'file already exists',
  EINVAL: 'invalid argument',
  EIO: 'i/o error',
  EISDIR: 'illegal operation on a directory',
  EMFILE: 'too many open files',
  ENOENT: 'no such file or directory',
  ENOSPC: 'no space left on device',
  ENOTDIR: 'not a directory',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
};

export function systemError(fields: { code: string; syscall: string; path?: string; message?: string; committed?: boolean }): SystemError {
  const text =
    fields.message ??
    `${fields.code}: ${MESSAGES[fields.code] ?? 'system error'}, ${fields.syscall}${fields.path === undefined ? '' : ` '${fields.path}'`}`;
  const err = new Error(text) as SystemError;
  err.code = fields.code;
  err.errno = -((constants.errno as Record<string, number>)[fields.code] ?? 0);
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

export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
  readonly code = 'ELOCKTIMEOUT';
  constructor(
    readonly path: string,
    readonly timeout: number,
  ) {
    super(`ELOCKTIMEOUT: lock not acquired within ${timeout} ms, '${path}'`);
  }
}

export class ConflictError extends Error {
  override readonly name = 'ConflictError';
  readonly code = 'ECONFLICT';
  constructor(
    readonly path: string,
    readonly attempts: number,
  ) {
    super(`ECONFLICT: '${path}' kept changing; gave up after ${attempts} attempts`);
  }
}

/**
 * A Snowflake generator refused to follow a clock that went backwards: with
 * `clockBackwards: 'throw'`, or further back than `'wait'` waits out. `behind` is in ms.
 */
export class ClockBackwardsError extends Error {
  override readonly name = 'ClockBackwardsError';
  readonly code = 'ECLOCKBACKWARDS';
  constructor(readonly behind: number) {
    super(`ECLOCKBACKWARDS: the clock moved backwards by ${behind.toFixed(3)} ms; refusing to mint IDs that could repeat`);
  }
}

/** Rejection for a cancelled operation, as `timers/promises` makes it. */
export class AbortError extends Error {
  override readonly name = 'AbortError';
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
