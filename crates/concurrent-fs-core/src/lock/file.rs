//! Opening a lock file and trying its lock once. std's `File::try_lock` is `flock` on
//! Unix and `LockFileEx` on Windows, so this file has no platform code of its own.

use super::LockKind;
use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

/// A held lock: the open lock file. Dropping it releases the lock.
#[derive(Debug)]
pub struct HeldLock {
  /// Its open descriptor is the lock.
  file: File,
  path: PathBuf,
}

impl HeldLock {
  pub fn path(&self) -> &Path {
    &self.path
  }

  /// The locked descriptor, for handing the lock to a child process (as flock(1) does):
  /// the lock belongs to the open file description, so a child that inherits it holds
  /// the lock for as long as it keeps the descriptor open.
  #[cfg(unix)]
  pub fn raw_fd(&self) -> i32 {
    use std::os::fd::AsRawFd;
    self.file.as_raw_fd()
  }
}

impl Drop for HeldLock {
  fn drop(&mut self) {
    // Closing releases an flock at once. Windows releases a closed handle's locks
    // "when resources allow", so unlock explicitly there first.
    #[cfg(windows)]
    let _ = self.file.unlock();
  }
}

/// Opens (creating if missing) the lock file. A lock file we may not write (another
/// user's, or on a read-only mount) can still be locked through a read-only descriptor.
pub(super) fn open(path: &Path) -> Result<File> {
  let result = OpenOptions::new()
    .read(true)
    .write(true)
    .create(true)
    .truncate(false)
    .open(path);
  let result = match result {
    Err(err)
      if matches!(
        err.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
      ) =>
    {
      File::open(path).map_err(|_| err)
    }
    other => other,
  };
  result.map_err(|err| Error::from_io(&err, "open", path))
}

/// One non-blocking attempt on an open lock file.
pub(super) fn try_on(file: &File, kind: LockKind, path: &Path) -> Result<bool> {
  let attempt = match kind {
    LockKind::Exclusive => file.try_lock(),
    LockKind::Shared => file.try_lock_shared(),
  };
  match attempt {
    Ok(()) => Ok(true),
    Err(TryLockError::WouldBlock) => Ok(false),
    Err(TryLockError::Error(err)) => Err(Error::from_io(&err, "flock", path)),
  }
}

pub(super) fn held(file: File, path: PathBuf) -> HeldLock {
  HeldLock { file, path }
}

pub fn try_lock(path: &Path, kind: LockKind) -> Result<Option<HeldLock>> {
  let file = open(path)?;
  if try_on(&file, kind, path)? {
    Ok(Some(held(file, path.to_path_buf())))
  } else {
    Ok(None)
  }
}
