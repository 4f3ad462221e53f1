// Node's fs errors, reshaped where the fallback needs it. Node names the path it was
// given, which for our internal files (temp files, lock markers' temps) is a name the
// caller never chose; errors must name the caller's path instead.
import { isSystemError, type SystemError, systemError } from '../errors';

/** The same error, naming `path`; errors that are not OS errors pass through. */
export function naming(err: unknown, path: string, committed = false): unknown {
  if (!isSystemError(err)) return err;
  // Keep the OS's own description ("no such file or directory") from Node's message.
  const description = /^[A-Z0-9]+: (.*?), /.exec(err.message)?.[1];
  const message = description === undefined ? undefined : `${err.code}: ${description}, ${err.syscall} '${path}'`;
  return systemError({ code: err.code, syscall: err.syscall, path, message, committed });
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
