//! The one error type of the core: an OS failure with enough context to act on.
//!
//! It mirrors what Node's `fs` puts on its errors (`code`, `syscall`, `path`), so the
//! binding can hand it to JavaScript without losing anything.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug)]
pub struct Error {
  /// POSIX-style error name, as Node spells it: `"ENOENT"`, `"EEXIST"`, ..., or
  /// `"UNKNOWN"` for an OS error outside the core's table (never a guess: the binding
  /// names it from `os_error`, as Node would).
  pub code: &'static str,
  /// The raw OS error number (errno on Unix, the Win32 error on Windows), 0 if none.
  pub os_error: i32,
  /// The system call that failed, as Node names it: `"open"`, `"fsync"`, `"rename"`, ...
  pub syscall: &'static str,
  /// The path the caller asked about (the target, not an internal temp name).
  pub path: Option<PathBuf>,
  /// For atomic writes: the new content is in place, only its durability is unknown.
  pub committed: bool,
}

impl Error {
  pub fn from_io(err: &io::Error, syscall: &'static str, path: &Path) -> Self {
    let os_error = err.raw_os_error().unwrap_or(0);
    let code = match err.raw_os_error() {
      Some(raw) => crate::errno::errno_name(raw).unwrap_or("UNKNOWN"),
      None => kind_name(err.kind()),
    };
    Error {
      code,
      os_error,
      syscall,
      path: Some(path.to_path_buf()),
      committed: false,
    }
  }

  /// An error that is not an OS failure but uses the same vocabulary (e.g. `EISDIR`).
  pub fn synthetic(code: &'static str, syscall: &'static str, path: &Path) -> Self {
    Error {
      code,
      os_error: crate::errno::errno_value(code).unwrap_or(0),
      syscall,
      path: Some(path.to_path_buf()),
      committed: false,
    }
  }

  /// What went wrong, in Node's words where it has some ("no such file or directory").
  pub fn description(&self) -> String {
    crate::errno::describe(self.os_error, self.code)
  }

  pub fn committed(mut self) -> Self {
    self.committed = true;
    self
  }

  /// True for the errors a filesystem returns when it does not support an operation
  /// at all (as opposed to failing at it), e.g. directory fsync on some FUSE mounts.
  pub fn is_unsupported(&self) -> bool {
    matches!(self.code, "EINVAL" | "ENOTSUP" | "EOPNOTSUPP" | "ENOSYS")
  }
}

/// Fallback names for errors without an OS error number.
fn kind_name(kind: io::ErrorKind) -> &'static str {
  match kind {
    io::ErrorKind::NotFound => "ENOENT",
    io::ErrorKind::PermissionDenied => "EACCES",
    io::ErrorKind::AlreadyExists => "EEXIST",
    io::ErrorKind::WouldBlock => "EAGAIN",
    io::ErrorKind::InvalidInput => "EINVAL",
    io::ErrorKind::WriteZero => "EIO",
    io::ErrorKind::Interrupted => "EINTR",
    io::ErrorKind::Unsupported => "ENOTSUP",
    io::ErrorKind::OutOfMemory => "ENOMEM",
    _ => "EIO",
  }
}

impl fmt::Display for Error {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}: {}", self.code, self.description())?;
    write!(f, ", {}", self.syscall)?;
    if let Some(path) = &self.path {
      write!(f, " '{}'", path.display())?;
    }
    Ok(())
  }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn names_os_errors_like_node() {
    let err = io::Error::from_raw_os_error(crate::errno::errno_value("ENOENT").unwrap());
    let e = Error::from_io(&err, "open", Path::new("/nope"));
    assert_eq!(e.code, "ENOENT");
    assert_eq!(e.syscall, "open");
    let text = e.to_string();
    assert!(
      text.starts_with("ENOENT: no such file or directory, open '/nope'"),
      "{text}"
    );
  }

  #[cfg(unix)]
  #[test]
  fn an_errno_outside_the_table_keeps_its_number_and_is_never_eio() {
    // EHOSTDOWN: no file operation returns it, so the table will never list it.
    let raw = rustix::io::Errno::HOSTDOWN.raw_os_error();
    let e = Error::from_io(&io::Error::from_raw_os_error(raw), "open", Path::new("/x"));
    assert_eq!((e.code, e.os_error), ("UNKNOWN", raw));
    assert!(
      e.to_string().starts_with("UNKNOWN: host is down, open"),
      "{e}"
    );
  }

  #[test]
  fn unsupported_is_recognised() {
    assert!(Error::synthetic("EINVAL", "fsync", Path::new("/")).is_unsupported());
    assert!(!Error::synthetic("EIO", "fsync", Path::new("/")).is_unsupported());
  }
}
