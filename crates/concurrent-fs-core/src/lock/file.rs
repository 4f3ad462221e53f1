//! Opening a lock file and trying its lock once. std's `File::try_lock` is `flock` on
//! Unix and `LockFileEx` on Windows; what is platform-specific about confirming a taken
//! lock lives in `identity` (is it still the file at the path?) and `foreign` (does a
//! pure-JS fallback process hold it?).

use super::{announce, identity, LockKind};
use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

/// A held lock: the open lock file. Dropping it releases the lock.
#[derive(Debug)]
pub struct HeldLock {
  lock: LockFile,
}

impl HeldLock {
  pub fn path(&self) -> &Path {
    &self.lock.path
  }

  /// The locked descriptor, for handing the lock to a child process (as flock(1) does):
  /// the lock belongs to the open file description, so a child that inherits it holds
  /// the lock for as long as it keeps the descriptor open.
  #[cfg(unix)]
  pub fn raw_fd(&self) -> i32 {
    self.lock.raw_fd()
  }

  pub(super) fn into_lock_file(self) -> LockFile {
    self.lock
  }
}

/// An open lock file, locked or not.
#[derive(Debug)]
pub(super) struct LockFile {
  file: File,
  /// The open file's identity, read once: a descriptor's never changes.
  id: identity::FileId,
  /// As the caller gave it: errors name it, and the identity check looks it up.
  path: PathBuf,
  /// Where a pure-JS fallback holder would put its marker.
  #[cfg(target_os = "linux")]
  marker: PathBuf,
  /// Whether a release that finds no announced waiter may keep it open (`announce`).
  keep_open: bool,
}

impl Drop for LockFile {
  fn drop(&mut self) {
    // Closing releases an flock at once. Windows releases a closed handle's locks
    // "when resources allow", so unlock explicitly there first.
    #[cfg(windows)]
    let _ = self.file.unlock();
  }
}

/// What one attempt on an open lock file found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Attempt {
  /// Locked, and it is the file at the path.
  Held,
  /// Someone else holds it (a kernel lock, or a live fallback process's marker).
  Busy,
  /// Locked a file that is no longer at the path (deleted or replaced): open it again.
  Moved,
}

/// Opens (creating if missing) the lock file. A lock file we may not write (another
/// user's, or on a read-only mount) can still be locked through a read-only descriptor.
/// Only regular files are lock files: a FIFO is opened without blocking and refused.
pub(super) fn open(path: &Path) -> Result<LockFile> {
  let (file, resolved) = open_resolved(path).map_err(|err| Error::from_io(&err, "open", path))?;
  let fstat = |err: io::Error| Error::from_io(&err, "fstat", path);
  let metadata = file.metadata().map_err(fstat)?;
  if !metadata.is_file() {
    return Err(Error::synthetic("EINVAL", "open", path));
  }
  let id = identity::of_open(&file, &metadata).map_err(fstat)?;
  #[cfg(not(target_os = "linux"))]
  let _ = resolved;
  Ok(LockFile {
    keep_open: announce::release_can_keep_open(&file),
    file,
    id,
    path: path.to_path_buf(),
    #[cfg(target_os = "linux")]
    marker: super::foreign::marker_path(&resolved),
  })
}

/// The open file and the path with its last-component symlinks followed. A symlinked
/// lock path is rare, so it is detected by the failure of a no-follow open (free in the
/// common case) and only then resolved.
fn open_resolved(path: &Path) -> io::Result<(File, PathBuf)> {
  #[cfg(target_os = "linux")]
  match open_with(path, rustix::fs::OFlags::NOFOLLOW.bits()) {
    Err(err) if err.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {}
    other => return other.map(|file| (file, path.to_path_buf())),
  }
  let file = open_with(path, 0)?;
  let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
  Ok((file, resolved))
}

fn open_with(path: &Path, extra_flags: u32) -> io::Result<File> {
  let mut options = OpenOptions::new();
  options.read(true).write(true).create(true).truncate(false);
  #[cfg(unix)]
  {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = extra_flags | rustix::fs::OFlags::NONBLOCK.bits();
    options.custom_flags(flags as i32);
  }
  #[cfg(not(unix))]
  let _ = extra_flags;
  match options.open(path) {
    Err(err)
      if matches!(
        err.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
      ) =>
    {
      options.write(false).create(false);
      options.open(path).map_err(|_| err)
    }
    other => other,
  }
}

/// One non-blocking attempt on an open lock file, confirmed as described in `identity`
/// and `foreign`. A lock that is not confirmed is dropped again before returning.
pub(super) fn try_on(lock: &LockFile, kind: LockKind) -> Result<Attempt> {
  let attempt = match kind {
    LockKind::Exclusive => lock.file.try_lock(),
    LockKind::Shared => lock.file.try_lock_shared(),
  };
  match attempt {
    Ok(()) => {}
    Err(TryLockError::WouldBlock) => return Ok(Attempt::Busy),
    Err(TryLockError::Error(err)) => return Err(Error::from_io(&err, "flock", &lock.path)),
  }
  let found = confirm(lock, kind);
  if !matches!(found, Ok(Attempt::Held)) {
    let _ = lock.file.unlock();
  }
  found
}

fn confirm(lock: &LockFile, kind: LockKind) -> Result<Attempt> {
  let now =
    identity::at_path(&lock.path).map_err(|err| Error::from_io(&err, "stat", &lock.path))?;
  if now != Some(lock.id) {
    return Ok(Attempt::Moved);
  }
  #[cfg(target_os = "linux")]
  if super::foreign::holds(&lock.marker, kind) {
    return Ok(Attempt::Busy);
  }
  #[cfg(not(target_os = "linux"))]
  let _ = kind;
  Ok(Attempt::Held)
}

impl LockFile {
  pub(super) fn path(&self) -> &Path {
    &self.path
  }

  pub(super) fn into_held(self) -> HeldLock {
    HeldLock { lock: self }
  }

  #[cfg(unix)]
  pub(super) fn raw_fd(&self) -> i32 {
    use std::os::fd::AsRawFd;
    self.file.as_raw_fd()
  }

  /// Tells releasers that a waiter uses this file (see `announce`).
  pub(super) fn announce(&self) {
    if self.keep_open {
      announce::announce(&self.file);
    }
  }

  /// The wait is over: this descriptor now holds the lock.
  pub(super) fn withdraw(&self) {
    if self.keep_open {
      announce::withdraw(&self.file);
    }
  }

  /// Releases a held lock and says whether the descriptor may stay open for the next
  /// hold: `false` when it must be closed to wake a waiter (whose inotify watch sees
  /// the close), or when the unlock failed (the close then releases).
  pub(super) fn release(&self) -> bool {
    if self.file.unlock().is_err() {
      return false;
    }
    // After the unlock, not before: see "Releasing" in the module docs of `lock`.
    self.keep_open && !announce::someone_waits(&self.file)
  }
}

/// How many times in a row a lock file may be replaced under one attempt before the
/// attempt counts as busy: someone is deleting it as fast as it is created.
pub(super) const MAX_MOVES: usize = 64;

pub fn try_lock(path: &Path, kind: LockKind) -> Result<Option<HeldLock>> {
  for _ in 0..MAX_MOVES {
    let lock = open(path)?;
    match try_on(&lock, kind)? {
      Attempt::Held => return Ok(Some(lock.into_held())),
      Attempt::Busy => return Ok(None),
      Attempt::Moved => continue,
    }
  }
  Ok(None)
}
