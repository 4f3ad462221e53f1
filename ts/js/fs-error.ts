// Node's fs errors, reshaped where the fallback needs it. Node names the path it was
// given, which for our internal files (temp files, lock markers' temps) is a name the
// caller never chose; errors must name the caller's path instead. Some are dropped:
// closing a descriptor while an error is already on its way, or once it has been read.
import * as fs from 'node:fs';
import { errnoName, isSystemError, type SystemError, systemError } from '../errors';

/**
 * The same error, naming `path` (and `syscall`, when the caller's view of the failed
 * step differs from Node's); errors that are not OS errors pass through.
 */
export function naming(err: unknown, path: string, committed = false, syscall?: string): unknown {
  if (!isSystemError(err)) return err;
  // Keep the OS's own description ("no such file or directory") from Node's message.
  const description = /^[A-Z0-9]+: (.*?), /.exec(err.message)?.[1];
  return systemError({ code: ownName(err), syscall: syscall ?? err.syscall, path, description, committed });
}

/**
 * Node names an errno its libuv does not know "Unknown system error -37"; the platform
 * has a name for it (ENOLCK), which is what the native implementation reports too.
 */
function ownName(err: SystemError): string {
  if (!err.code.startsWith('Unknown system error') || typeof err.errno !== 'number') return err.code;
  return errnoName(-err.errno) ?? err.code;
}

export function hasCode(err: unknown, ...codes: string[]): err is SystemError {
  return isSystemError(err) && codes.includes(err.code);
}

/**
 * True when a filesystem does not support an operation at all, as opposed to failing
 * at it: directory fsync on some FUSE and network mounts, or opening a directory on
 * platforms that refuse to.
 */
export function isUnsupported(err: unknown): boolean {
  return hasCode(err, 'EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EISDIR');
}

/** Closes `fd`, dropping a close error: only for a descriptor whose close can lose nothing. */
export function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {}
}
