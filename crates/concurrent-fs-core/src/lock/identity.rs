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

/// `Ok(false)` when `path` is missing or names another file than `file`.
#[cfg(unix)]
pub fn is_at_path(file: &File, path: &Path) -> io::Result<bool> {
  use rustix::fs::{fstat, stat};
  let ours = fstat(file)?;
  match stat(path) {
    Ok(now) => Ok(now.st_dev == ours.st_dev && now.st_ino == ours.st_ino),
    Err(rustix::io::Errno::NOENT) => Ok(false),
    Err(errno) => Err(errno.into()),
  }
}

/// Windows identifies a file by volume serial number and file index, read from a handle:
/// ours, and a fresh one on the path opened with no access rights (it cannot conflict with
/// any sharing mode).
#[cfg(windows)]
pub fn is_at_path(file: &File, path: &Path) -> io::Result<bool> {
  use std::os::windows::fs::OpenOptionsExt;
  let now = match std::fs::OpenOptions::new().access_mode(0).open(path) {
    Ok(now) => now,
    Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
    Err(err) => return Err(err),
  };
  Ok(file_id(file)? == file_id(&now)?)
}

#[cfg(windows)]
fn file_id(file: &File) -> io::Result<(u32, u32, u32)> {
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
  Ok((
    info.dwVolumeSerialNumber,
    info.nFileIndexHigh,
    info.nFileIndexLow,
  ))
}
