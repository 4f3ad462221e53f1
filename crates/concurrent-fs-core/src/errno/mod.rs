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
  ("EDEADLK", "resource deadlock avoided"),
  ("EDQUOT", "disk quota exceeded"),
  ("EEXIST", "file already exists"),
  ("EFBIG", "file too large"),
  ("EINTR", "interrupted system call"),
  ("EINVAL", "invalid argument"),
  ("EIO", "i/o error"),
  ("EISDIR", "illegal operation on a directory"),
  ("ELOOP", "too many symbolic links encountered"),
  ("EMFILE", "too many open files"),
  ("EMLINK", "too many links"),
  ("ENAMETOOLONG", "name too long"),
  ("ENFILE", "file table overflow"),
  ("ENODEV", "no such device"),
  ("ENOENT", "no such file or directory"),
  ("ENOLCK", "no locks available"),
  ("ENOMEM", "not enough memory"),
  ("ENOSPC", "no space left on device"),
  ("ENOSYS", "function not implemented"),
  ("ENOTDIR", "not a directory"),
  ("ENOTEMPTY", "directory not empty"),
  ("ENOTSUP", "operation not supported on socket"),
  ("ENOTTY", "inappropriate ioctl for device"),
  ("ENXIO", "no such device or address"),
  ("EOPNOTSUPP", "operation not supported on socket"),
  ("EPERM", "operation not permitted"),
  ("EROFS", "read-only file system"),
  ("ESPIPE", "invalid seek"),
  ("ESTALE", "stale file handle"),
  ("ETXTBSY", "text file is busy"),
  ("EXDEV", "cross-device link not permitted"),
];

/// Runs a system call again while it fails with `EINTR`: a signal arrived, nothing
/// failed, so the caller never sees it.
#[cfg(unix)]
pub use unix::retry_interrupted;

/// The POSIX name of a raw OS error, if it is one we know.
pub fn errno_name(os_error: i32) -> Option<&'static str> {
  imp::errno_name(os_error)
}

/// The raw OS error for a POSIX name (the inverse of [`errno_name`]).
pub fn errno_value(name: &str) -> Option<i32> {
  imp::errno_value(name)
}

/// Node's wording for an error, falling back to the OS's own text in the same style
/// ("no locks available", not "No locks available (os error 37)").
pub fn describe(os_error: i32, code: &str) -> String {
  if let Some((_, message)) = MESSAGES.iter().find(|(name, _)| *name == code) {
    return (*message).to_string();
  }
  if os_error == 0 {
    return "unknown error".to_string();
  }
  let text = std::io::Error::from_raw_os_error(os_error).to_string();
  let text = text.split(" (os error").next().unwrap_or_default();
  let mut chars = text.chars();
  match chars.next() {
    Some(first) => first.to_lowercase().chain(chars).collect(),
    None => "unknown error".to_string(),
  }
}
