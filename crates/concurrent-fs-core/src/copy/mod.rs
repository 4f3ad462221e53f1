//! Copying a file into place atomically, sharing its blocks (a reflink) where the
//! filesystem can: for files copied into many worktrees (`.env`, caches), where a clone
//! costs no space and no time whatever the size.
//!
//! The destination is written like every atomic write of this crate (`crate::atomic`):
//! a temp file in the destination's directory, flushed per `durability`, renamed over
//! the destination. Only how the temp file is filled differs, per platform (one place
//! each, `unix.rs` and `windows.rs`):
//!
//! - Linux: `ioctl(FICLONE)` (btrfs, XFS with reflink, bcachefs, overlayfs on those),
//!   then `copy_file_range` (in-kernel; server-side on NFS 4.2 and SMB), then `read` and
//!   `write`.
//! - macOS: `fclonefileat` (APFS), then `read` and `write`.
//! - Windows: `CopyFileExW` (which clones blocks itself on ReFS and Dev Drives).
//!
//! The source is opened as `cp` opens it: a symlink is followed. It must be a regular
//! file. The copy gets the source's permission bits (not the umask's, not the replaced
//! file's); the replaced file's owner is kept where allowed, as for any atomic write.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as platform;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;

use crate::atomic::{AtomicFile, Durability, WriteOptions};
use crate::error::Result;
use std::path::Path;

/// How the content got into the copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyMethod {
  /// The copy shares the source's blocks (copy-on-write): no data was copied.
  Reflink,
  /// Copied in the kernel (`copy_file_range`), which some filesystems turn into a
  /// clone or a server-side copy.
  CopyRange,
  /// Read and written through user space (or by the OS's own copy routine).
  Copy,
}

/// Replaces `dest` with a copy of `src` (see the module docs), cloned where possible.
/// Errors name the path they are about: `src` for opening and reading the source,
/// `dest` for everything else.
pub fn clone_or_copy(src: &Path, dest: &Path, durability: Durability) -> Result<CopyMethod> {
  let source = platform::Source::open(src)?;
  let options = WriteOptions {
    durability,
    mode: source.mode(),
    no_clobber: false,
  };
  let mut method = CopyMethod::Copy;
  let file = AtomicFile::create_with(dest, &options, |site| {
    let made = platform::fill(&source, site, dest)?;
    Ok(made.map(|(file, how)| {
      method = how;
      file
    }))
  })?;
  file.commit()?;
  Ok(method)
}

#[cfg(test)]
mod tests;
