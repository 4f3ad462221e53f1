//! Filling a temp file with a copy of the source, on Windows: `CopyFileExW`, which
//! copies data, attributes and alternate streams, and on ReFS and Dev Drives (Windows
//! 11 24H2) clones the blocks by itself; whether it did is not reported, so the method
//! is always `Copy`. Not built on this project's CI machine.

use super::CopyMethod;
use crate::atomic::TempSite;
use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use windows_sys::Win32::Foundation::{ERROR_ALREADY_EXISTS, ERROR_FILE_EXISTS, GENERIC_WRITE};
use windows_sys::Win32::Storage::FileSystem::{CopyFileExW, COPY_FILE_FAIL_IF_EXISTS, DELETE};

/// The source: checked to be a regular file; copied by path.
pub struct Source {
  path: PathBuf,
}

impl Source {
  /// Follows a symlink, as `cp` does; anything but a regular file is refused.
  pub fn open(path: &Path) -> Result<Source> {
    let file = File::open(path).map_err(|err| Error::from_io(&err, "open", path))?;
    let meta = file
      .metadata()
      .map_err(|err| Error::from_io(&err, "fstat", path))?;
    if meta.is_dir() {
      return Err(Error::synthetic("EISDIR", "open", path));
    }
    if !meta.is_file() {
      return Err(Error::synthetic("EINVAL", "open", path));
    }
    Ok(Source {
      path: path.to_path_buf(),
    })
  }

  /// Windows has no permission bits to carry over (read-only is an attribute, dropped:
  /// a read-only temp could not replace anything).
  pub fn mode(&self) -> Option<u32> {
    None
  }
}

/// Makes the temp file at `site` as a copy of `source`; `None` when the name is taken.
pub fn fill(
  source: &Source,
  site: &TempSite<'_>,
  dest: &Path,
) -> Result<Option<(File, CopyMethod)>> {
  let temp = site.path();
  let from = wide(&source.path);
  let to = wide(&temp);
  // SAFETY: both names are NUL-terminated UTF-16; no progress routine, no cancel flag.
  let ok = unsafe {
    CopyFileExW(
      from.as_ptr(),
      to.as_ptr(),
      None,
      std::ptr::null(),
      std::ptr::null_mut(),
      COPY_FILE_FAIL_IF_EXISTS,
    )
  };
  if ok == 0 {
    let err = io::Error::last_os_error();
    let code = err.raw_os_error().unwrap_or(0) as u32;
    if code == ERROR_FILE_EXISTS || code == ERROR_ALREADY_EXISTS {
      return Ok(None);
    }
    return Err(Error::from_io(&err, "copyfile", dest));
  }
  let fail = |err: io::Error, syscall| Error::from_io(&err, syscall, dest);
  let mut permissions = std::fs::metadata(&temp)
    .map_err(|e| fail(e, "stat"))?
    .permissions();
  if permissions.readonly() {
    #[allow(clippy::permissions_set_readonly_false)] // Windows: clears the attribute only
    permissions.set_readonly(false);
    std::fs::set_permissions(&temp, permissions).map_err(|e| fail(e, "chmod"))?;
  }
  let file = OpenOptions::new()
    .write(true)
    .access_mode(GENERIC_WRITE | DELETE)
    .open(&temp)
    .map_err(|e| fail(e, "open"))?;
  Ok(Some((file, CopyMethod::Copy)))
}

fn wide(path: &Path) -> Vec<u16> {
  path.as_os_str().encode_wide().chain(Some(0)).collect()
}
