//! Error names and messages across platforms. Everything OS-specific about errors
//! lives here; the rest of the crate speaks POSIX names (`"ENOENT"`), as Node does.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

/// (name, libuv's message): the messages Node prints for these codes.
const MESSAGES: &[(&str, &str)] = &[
  ("EACCES", "permission denied"),
  ("EAGAIN", "resource temporarily unavailable"),
  ("EBADF", "bad file descriptor"),
  ("EBUSY", "resource busy or locked"),
  ("EDQUOT", "disk quota exceeded"),
  ("EEXIST", "file already exists"),
  ("EFBIG", "file too large"),
  ("EINTR", "interrupted system call"),
  ("EINVAL", "invalid argument"),
  ("EIO", "i/o error"),
  ("EISDIR", "illegal operation on a directory"),
  ("ELOOP", "too many symbolic links encountered"),
  ("EMFILE", "too many open files"),
  ("ENAMETOOLONG", "name too long"),
  ("ENFILE", "file table overflow"),
  ("ENOENT", "no such file or directory"),
  ("ENOMEM", "not enough memory"),
  ("ENOSPC", "no space left on device"),
  ("ENOSYS", "function not implemented"),
  ("ENOTDIR", "not a directory"),
  ("ENOTEMPTY", "directory not empty"),
  ("ENOTSUP", "operation not supported on socket"),
  ("EOPNOTSUPP", "operation not supported on socket"),
  ("EPERM", "operation not permitted"),
  ("EROFS", "read-only file system"),
  ("ESTALE", "stale file handle"),
  ("ETXTBSY", "text file is busy"),
  ("EXDEV", "cross-device link not permitted"),
];

/// The POSIX name of a raw OS error, if it is one we know.
pub fn errno_name(os_error: i32) -> Option<&'static str> {
  imp::errno_name(os_error)
}

/// The raw OS error for a POSIX name (the inverse of [`errno_name`]).
pub fn errno_value(name: &str) -> Option<i32> {
  imp::errno_value(name)
}

/// Node's wording for an error, falling back to the OS's own text.
pub fn describe(os_error: i32, code: &str) -> String {
  match MESSAGES.iter().find(|(name, _)| *name == code) {
    Some((_, message)) => (*message).to_string(),
    None => std::io::Error::from_raw_os_error(os_error).to_string(),
  }
}
