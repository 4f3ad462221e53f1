// The addon's errors, decoded. Every error the addon raises on purpose has the message
// `cfs:` + JSON (crates/concurrent-fs-node/src/error.rs), whose `kind` says what it is;
// each leaves here as the error the pure-JS fallback would throw. Other errors (napi-rs
// rejecting an argument, a panic) pass through unchanged.
import { ClockBackwardsError, errnoName, invalidArgValue, rangeError, systemError } from '../errors';

/** An OS failure: Node's `fs` fields, and the raw OS error. */
interface SystemDetail {
  kind: 'system';
  /** The core's name for the error; `'UNKNOWN'` for an errno outside its table. */
  code: string;
  /** The raw OS error: errno on Unix, the Win32 error on Windows; 0 if none. */
  errno: number;
  syscall: string;
  path?: string;
  committed: boolean;
  /** The core's wording, for a code Node has none for. */
  description: string;
  /** `atomicWriteMany`: the indexes of the entries already renamed into place. */
  written?: number[];
}

/** A refusal to mint or read an ID. */
interface IdDetail {
  kind: 'id';
  code: 'ECLOCKBACKWARDS' | 'ERR_OUT_OF_RANGE' | 'ERR_INVALID_ARG_VALUE';
  message: string;
  /** `ECLOCKBACKWARDS`: how far the clock is behind, in µs. */
  behindMicros?: number;
}

export type NativeErrorDetail = SystemDetail | IdDetail;

const PREFIX = 'cfs:';

/** The fields of an addon error; undefined for any other value. */
export function nativeDetail(err: unknown): NativeErrorDetail | undefined {
  if (!(err instanceof Error) || !err.message.startsWith(`${PREFIX}{`)) return undefined;
  return JSON.parse(err.message.slice(PREFIX.length)) as NativeErrorDetail;
}

/** The error to throw for `err`: a decoded addon error, or `err` itself. */
export function fromNative(err: unknown): unknown {
  const detail = nativeDetail(err);
  if (detail === undefined) return err;
  return detail.kind === 'system' ? fromSystem(detail) : fromId(detail);
}

/**
 * On Unix the code is the raw errno's own name (as Node's fs names it), so an errno
 * the core has no name for is still ENXIO, ENOLCK, EMLINK ...; on Windows the raw
 * error is a Win32 code and the core's name (libuv's mapping) stands.
 */
function fromSystem(detail: SystemDetail): Error {
  const named = process.platform !== 'win32' && detail.errno ? errnoName(detail.errno) : undefined;
  return systemError({
    code: named ?? detail.code,
    syscall: detail.syscall,
    path: detail.path,
    committed: detail.committed,
    description: detail.description,
  });
}

function fromId(detail: IdDetail): Error {
  if (detail.code === 'ECLOCKBACKWARDS') return new ClockBackwardsError((detail.behindMicros ?? 0) / 1000);
  if (detail.code === 'ERR_INVALID_ARG_VALUE') return invalidArgValue('id', undefined, detail.message);
  return rangeError(detail.message);
}

/** Calls into the addon, throwing its errors decoded. */
export function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromNative(err);
  }
}

/** `callNative` for a call that returns a promise. */
export async function callNativeAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromNative(err);
  }
}
