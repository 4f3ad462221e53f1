//! Is the file we locked still the one at the lock path?
//!
//! A lock belongs to an inode, a lock path names whatever inode is there now. If the lock
//! file is deleted (by its holder, a cleanup job, `store.delete`) or replaced while someone
//! waits on its old inode, that waiter would get a lock on a file nobody else opens any
//! more, while a newcomer locks the new file at the path: two holders. So every taken lock
//! is confirmed against the path, and retried on the new file when it no longer matches.

use std::fs::File;
use std::io;
use std::path::Path;

/// What identifies a file: device and inode (Unix), volume and file index (Windows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId(u64, u64);

/// The identity of an open file, given its metadata (read anyway when opening it). It
/// never changes for a descriptor, so a lock file's is read once, when it is opened.
#[cfg(unix)]
pub fn of_open(_file: &File, metadata: &std::fs::Metadata) -> io::Result<FileId> {
  use std::os::unix::fs::MetadataExt;
  Ok(FileId(metadata.dev(), metadata.ino()))
}

/// The identity of the file at `path` now (symlinks followed), `None` when nothing is there.
#[cfg(unix)]
pub fn at_path(path: &Path) -> io::Result<Option<FileId>> {
  match rustix::fs::stat(path) {
    // dev_t is i32 on macOS, u64 on Linux: only equality matters here.
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    Ok(stat) => Ok(Some(FileId(stat.st_dev as u64, u64::from(stat.st_ino)))),
    Err(rustix::io::Errno::NOENT) => Ok(None),
    Err(errno) => Err(errno.into()),
  }
}

/// Windows reads the identity from a handle: for a path, a fresh one opened with no access
/// rights (it cannot conflict with any sharing mode).
#[cfg(windows)]
pub fn at_path(path: &Path) -> io::Result<Option<FileId>> {
  use std::os::windows::fs::OpenOptionsExt;
  match std::fs::OpenOptions::new().access_mode(0).open(path) {
    Ok(now) => file_id(&now).map(Some),
    Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
    Err(err) => Err(err),
  }
}

/// Windows' metadata has no file index on stable Rust: it is read from the handle.
#[cfg(windows)]
pub fn of_open(file: &File, _metadata: &std::fs::Metadata) -> io::Result<FileId> {
  file_id(file)
}

#[cfg(windows)]
fn file_id(file: &File) -> io::Result<FileId> {
  use std::os::windows::io::AsRawHandle;
  use windows_sys::Win32::Storage::FileSystem::{
    GetFileInformationByHandle, BY_HANDLE_FILE_INFORMATION,
  };
  // SAFETY: the handle is open for the duration of the call and `info` is a valid,
  // writable BY_HANDLE_FILE_INFORMATION.
  let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
  if unsafe { GetFileInformationByHandle(file.as_raw_handle() as _, &mut info) } == 0 {
    return Err(io::Error::last_os_error());
  }
  let index = (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow);
  Ok(FileId(u64::from(info.dwVolumeSerialNumber), index))
}
