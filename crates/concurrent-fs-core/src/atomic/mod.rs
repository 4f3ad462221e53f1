//! Atomic, durable file replacement.
//!
//! The sequence, and why each step is there:
//!
//! 1. Create a temp file *in the target's directory* (a rename across filesystems is a
//!    copy, not atomic) with a unique name (fixed names collide across processes).
//! 2. Give it its final permission bits and owner *before* the flush, so that a crash
//!    never leaves the new content with the wrong mode.
//! 3. Write, then flush the file (`fdatasync`/`fsync`/`F_FULLFSYNC`). If the flush fails,
//!    the temp is deleted and never renamed: after a failed fsync the kernel may have
//!    dropped the dirty pages, and a retried fsync "succeeds" with the data lost
//!    (PostgreSQL's "fsyncgate"), so we never retry it on that descriptor either.
//! 4. Rename over the target (or, for `no_clobber`, `renameat2(RENAME_NOREPLACE)`, with
//!    `link` + `unlink` where the filesystem lacks it). Readers see old or new, never a mix.
//! 5. Flush the directory, since the rename lives in the directory, not the file. If
//!    that fails the new content is already in place: the error says `committed`.
//!    A filesystem that does not support directory fsync at all (`EINVAL`/`ENOTSUP` on
//!    some FUSE and network mounts) is treated as success: there is nothing more we
//!    could do there, and failing every write on such mounts would make them unusable.
//!
//! Every failure before the rename removes the temp file.

mod many;
mod shared_flush;
mod temp_name;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as platform;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;

pub use many::{write_many, ManyEntry, ManyError};
pub use temp_name::is_temp_name_for;

use crate::error::{Error, Result};
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
  /// No flush: safe against concurrent readers and process crashes, not power loss.
  None,
  /// fdatasync the file, fsync the directory.
  Data,
  /// Full fsync of the file (F_FULLFSYNC on macOS, FlushFileBuffers on Windows) and directory.
  Full,
}

#[derive(Clone, Debug)]
pub struct WriteOptions {
  pub durability: Durability,
  /// Exact permission bits for the file (not masked by the umask).
  pub mode: Option<u32>,
  /// Fail with `EEXIST` instead of replacing an existing file.
  pub no_clobber: bool,
}

impl Default for WriteOptions {
  fn default() -> Self {
    WriteOptions {
      durability: Durability::Full,
      mode: None,
      no_clobber: false,
    }
  }
}

/// Replaces `path` with `data` atomically and (per `options.durability`) durably.
pub fn write(path: &Path, data: &[u8], options: &WriteOptions) -> Result<()> {
  let mut file = AtomicFile::create(path, options)?;
  file.write(data)?;
  file.commit()
}

/// Creates `path` with `data` if nothing is there. Returns `false` if an entry existed
/// (a dangling symlink included: it is never followed). The file appears with its full
/// content or not at all.
pub fn create_exclusive(path: &Path, data: &[u8], options: &WriteOptions) -> Result<bool> {
  let options = WriteOptions {
    no_clobber: true,
    ..options.clone()
  };
  // EEXIST comes from the look before the temp file, or from the no-replace rename
  // when someone else created the file in between.
  match write(path, data, &options) {
    Ok(()) => Ok(true),
    Err(err) if err.code == "EEXIST" && !err.committed => Ok(false),
    Err(err) => Err(err),
  }
}

/// A file being written, that replaces its target only on [`AtomicFile::commit`].
/// Dropping it without a commit removes the temp file.
pub struct AtomicFile {
  target: platform::Target,
  /// The path the caller gave: every error names it, never a link's target.
  path: PathBuf,
  temp_name: OsString,
  file: Option<std::fs::File>,
  options: WriteOptions,
}

impl AtomicFile {
  /// Finds the target (following a symlink unless `no_clobber`, which, like
  /// `O_CREAT | O_EXCL`, counts any entry at `path` as existing), opens its directory
  /// for the flush if one is needed, and creates the temp file.
  pub fn create(path: &Path, options: &WriteOptions) -> Result<Self> {
    Self::create_with(path, options, |site| match site.create_empty() {
      Ok(file) => Ok(Some(file)),
      Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(None),
      Err(err) => Err(Error::from_io(&err, "open", path)),
    })
  }

  /// `create`, with the temp file made by `make` instead of empty: e.g. as a clone of
  /// another file (`crate::copy`). `make` creates the temp name exclusively and returns
  /// the file open for writing, or `None` when the name is taken (another is tried).
  /// If it fails, whatever it left under the temp name is removed.
  pub(crate) fn create_with(
    path: &Path,
    options: &WriteOptions,
    mut make: impl FnMut(&TempSite<'_>) -> Result<Option<std::fs::File>>,
  ) -> Result<Self> {
    let fail = |(err, syscall): (std::io::Error, &'static str)| Error::from_io(&err, syscall, path);
    let mut target = platform::Target::open(path, !options.no_clobber).map_err(fail)?;
    if options.no_clobber && target.exists() {
      return Err(Error::synthetic("EEXIST", "open", path));
    }
    if options.durability != Durability::None {
      target.open_for_sync().map_err(fail)?;
    }
    let (file, temp_name) = create_temp(&target, &mut make)?;
    let mut atomic = AtomicFile {
      target,
      path: path.to_path_buf(),
      temp_name,
      file: Some(file),
      options: options.clone(),
    };
    if let Err((err, syscall)) = atomic.set_permissions() {
      return Err(atomic.fail(&err, syscall));
    }
    Ok(atomic)
  }

  /// The path the caller gave (the file replaced is where its symlinks lead).
  pub fn path(&self) -> &Path {
    &self.path
  }

  pub fn write(&mut self, data: &[u8]) -> Result<()> {
    let Some(file) = self.file.as_mut() else {
      return Err(Error::synthetic("EBADF", "write", &self.path));
    };
    match file.write_all(data) {
      Ok(()) => Ok(()),
      Err(err) => Err(self.fail(&err, "write")),
    }
  }

  pub fn commit(mut self) -> Result<()> {
    self.flush(self.options.durability)?;
    self.rename()?;
    if self.options.durability != Durability::None {
      sync_dir(&self.target, &self.path)?;
    }
    Ok(())
  }

  /// Flushes the temp file (step 3). A failure removes the temp: it is never renamed.
  fn flush(&mut self, durability: Durability) -> Result<()> {
    let Some(file) = self.file.as_ref() else {
      return Err(Error::synthetic("EBADF", "fsync", &self.path));
    };
    match platform::flush(file, durability) {
      Ok(()) => Ok(()),
      Err((err, syscall)) => Err(self.fail(&err, syscall)),
    }
  }

  /// Closes the temp file and renames it over the target (step 4).
  fn rename(&mut self) -> Result<()> {
    let Some(file) = self.file.take() else {
      return Err(Error::synthetic("EBADF", "rename", &self.path));
    };
    drop(file);
    let renamed = platform::rename(&self.target, &self.temp_name, self.options.no_clobber);
    if let Err((err, syscall)) = renamed {
      return Err(self.fail(&err, syscall));
    }
    self.temp_name.clear();
    Ok(())
  }

  /// Discards the temp file; the target is untouched.
  pub fn abort(mut self) -> Result<()> {
    self.file = None;
    self
      .remove_temp()
      .map_err(|err| Error::from_io(&err, "unlink", &self.path))
  }

  fn set_permissions(&self) -> std::result::Result<(), (std::io::Error, &'static str)> {
    let file = self.file.as_ref().expect("file is open until commit");
    platform::set_permissions(file, self.target.existing(), self.options.mode)
  }

  /// Cleans up after a failed step and builds the error to return.
  fn fail(&mut self, err: &std::io::Error, syscall: &'static str) -> Error {
    self.file = None;
    let _ = self.remove_temp();
    Error::from_io(err, syscall, &self.path)
  }

  fn remove_temp(&mut self) -> std::io::Result<()> {
    if self.temp_name.is_empty() {
      return Ok(());
    }
    let result = platform::remove(&self.target, &self.temp_name);
    self.temp_name.clear();
    result
  }
}

impl Drop for AtomicFile {
  fn drop(&mut self) {
    self.file = None;
    let _ = self.remove_temp();
  }
}

/// Flushes the directory holding `target` (step 5), opened by `open_for_sync`. The rename
/// is done, so a failure is `committed`; a filesystem without directory fsync is fine.
fn sync_dir(target: &platform::Target, path: &Path) -> Result<()> {
  // Concurrent writes into one directory share a flush that started after their renames.
  let shared = target
    .dir_key()
    .and_then(|key| shared_flush::DIRECTORY_FLUSHES.flush(&key, || platform::sync_dir(target)));
  match shared {
    Ok(()) => Ok(()),
    Err(err) => {
      let err = Error::from_io(&err, "fsync", path);
      if err.is_unsupported() {
        Ok(())
      } else {
        Err(err.committed())
      }
    }
  }
}

fn create_temp(
  target: &platform::Target,
  make: &mut impl FnMut(&TempSite<'_>) -> Result<Option<std::fs::File>>,
) -> Result<(std::fs::File, OsString)> {
  let basename: &OsStr = target.name();
  loop {
    let name = temp_name::temp_name(basename);
    let site = TempSite {
      target,
      name: &name,
    };
    match make(&site) {
      Ok(Some(file)) => return Ok((file, name)),
      Ok(None) => continue,
      Err(err) => {
        // The name is random and ours: nobody else's file can be there.
        let _ = platform::remove(target, &name);
        return Err(err);
      }
    }
  }
}

/// Where a temp file is to be made: the target's directory and the temp's name.
pub(crate) struct TempSite<'a> {
  target: &'a platform::Target,
  name: &'a OsStr,
}

impl TempSite<'_> {
  /// Creates the temp file, empty and exclusively, as `AtomicFile::create` does.
  pub fn create_empty(&self) -> std::io::Result<std::fs::File> {
    platform::create_temp(self.target, self.name)
  }

  /// The temp's name in `dir()` (for calls that create the name themselves: macOS's
  /// `fclonefileat`).
  #[cfg(target_vendor = "apple")]
  pub fn name(&self) -> &OsStr {
    self.name
  }

  /// The target's directory, for `*at` calls relative to it.
  #[cfg(target_vendor = "apple")]
  pub fn dir(&self) -> std::os::fd::BorrowedFd<'_> {
    self.target.dir_fd()
  }

  /// The temp file's path.
  #[cfg(windows)]
  pub fn path(&self) -> PathBuf {
    self.target.dir_path().join(self.name)
  }
}

#[cfg(test)]
mod tests;
