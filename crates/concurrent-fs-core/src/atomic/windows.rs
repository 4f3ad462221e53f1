//! The Windows steps of an atomic write. Not built or run on this project's CI machine;
//! the release workflow builds and tests it on a Windows runner.
//!
//! Windows differs from Unix in three ways that matter here:
//! - The classic `MoveFileEx(MOVEFILE_REPLACE_EXISTING)` fails while any other handle to
//!   the target is open (a reader, an indexer, an antivirus scan). The POSIX-semantics
//!   rename (`FileRenameInfoEx` + `FILE_RENAME_FLAG_POSIX_SEMANTICS`, Windows 10 1607+)
//!   replaces even then, so it is tried first; `MoveFileExW(.. | MOVEFILE_WRITE_THROUGH)`
//!   is the fallback for filesystems without it (FAT, some network shares).
//! - Antivirus and indexers open fresh files briefly, so access-denied and sharing
//!   violations are transient: they are retried with jittered backoff up to a deadline.
//! - A directory cannot be flushed; `MOVEFILE_WRITE_THROUGH` and NTFS's metadata journal
//!   are what make the rename durable, so `sync_dir` does nothing.

use super::Durability;
use std::ffi::{c_void, OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::AsRawHandle;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{
  ERROR_ACCESS_DENIED, ERROR_INVALID_FUNCTION, ERROR_INVALID_PARAMETER, ERROR_LOCK_VIOLATION,
  ERROR_NOT_SUPPORTED, ERROR_SHARING_VIOLATION, GENERIC_WRITE, HANDLE,
};
use windows_sys::Win32::Storage::FileSystem::{
  FileRenameInfoEx, MoveFileExW, SetFileInformationByHandle, DELETE, FILE_RENAME_INFO,
  FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE, MOVEFILE_REPLACE_EXISTING,
  MOVEFILE_WRITE_THROUGH,
};

type StepResult<T> = Result<T, (io::Error, &'static str)>;

const FILE_RENAME_FLAG_REPLACE_IF_EXISTS: u32 = 0x1;
const FILE_RENAME_FLAG_POSIX_SEMANTICS: u32 = 0x2;
const RENAME_RETRY_DEADLINE: Duration = Duration::from_secs(2);

pub struct Existing {
  readonly: bool,
}

pub type DirKey = PathBuf;

pub struct Target {
  dir: PathBuf,
  name: OsString,
  /// Something is at the name (of any kind).
  exists: bool,
  existing: Option<Existing>,
}

impl Target {
  /// With `follow`, the OS follows a symlink at `path` (with its own limit: past it,
  /// ERROR_CANT_RESOLVE_FILENAME, named ELOOP); without, any entry at `path` exists.
  pub fn open(path: &Path, follow: bool) -> StepResult<Target> {
    let Some(name) = path.file_name() else {
      return Err((
        io::Error::from_raw_os_error(ERROR_ACCESS_DENIED as i32),
        "open",
      ));
    };
    let dir = match path.parent() {
      Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
      _ => PathBuf::from("."),
    };
    let dir_meta = std::fs::metadata(&dir).map_err(|err| (err, "open"))?;
    if !dir_meta.is_dir() {
      return Err((io::Error::from(io::ErrorKind::NotADirectory), "open"));
    }
    let exists = std::fs::symlink_metadata(path).is_ok();
    let existing = match std::fs::metadata(path) {
      Ok(_) if !follow => None,
      Ok(meta) if meta.is_dir() => {
        return Err((io::Error::from(io::ErrorKind::IsADirectory), "open"))
      }
      Ok(meta) => Some(Existing {
        readonly: meta.permissions().readonly(),
      }),
      Err(err) if err.kind() == io::ErrorKind::NotFound => None,
      Err(_) if !follow => None,
      Err(err) => return Err((err, "stat")),
    };
    Ok(Target {
      dir,
      name: name.to_os_string(),
      exists,
      existing,
    })
  }

  /// Windows cannot flush a directory (see `sync_dir`): nothing to open.
  pub fn open_for_sync(&mut self) -> StepResult<()> {
    Ok(())
  }

  pub fn exists(&self) -> bool {
    self.exists
  }

  pub fn name(&self) -> &OsStr {
    &self.name
  }

  /// The directory the name lives in.
  pub fn dir_path(&self) -> &Path {
    &self.dir
  }

  /// Which directory the target is in, to flush each directory once; directories are
  /// never flushed on Windows (see `sync_dir`), so the path's text is key enough.
  pub fn dir_key(&self) -> io::Result<DirKey> {
    Ok(self.dir.clone())
  }

  pub fn existing(&self) -> Option<&Existing> {
    self.existing.as_ref()
  }
}

pub fn create_temp(target: &Target, name: &OsStr) -> io::Result<File> {
  OpenOptions::new()
    .write(true)
    .create_new(true)
    .access_mode(GENERIC_WRITE | DELETE)
    .open(target.dir.join(name))
}

/// Windows has one permission bit, read-only; a read-only temp could not replace the
/// target, so it is applied by neither: the new file is writable, like `fs.writeFile`'s.
pub fn set_permissions(
  _file: &File,
  _existing: Option<&Existing>,
  _mode: Option<u32>,
) -> StepResult<()> {
  Ok(())
}

pub fn flush(file: &File, durability: Durability) -> StepResult<()> {
  match durability {
    Durability::None => Ok(()),
    // FlushFileBuffers is the only flush Windows has.
    Durability::Data | Durability::Full => file.sync_all().map_err(|err| (err, "fsync")),
  }
}

pub fn rename(target: &Target, temp: &OsStr, no_clobber: bool) -> StepResult<()> {
  let from = target.dir.join(temp);
  let to = std::path::absolute(target.dir.join(&target.name)).map_err(|err| (err, "rename"))?;
  let deadline = Instant::now() + RENAME_RETRY_DEADLINE;
  let mut delay = Duration::from_millis(1);
  loop {
    match rename_once(&from, &to, !no_clobber) {
      Ok(()) => return Ok(()),
      Err(err) if is_transient(&err) && Instant::now() < deadline => {
        std::thread::sleep(jittered(delay));
        delay = (delay * 2).min(Duration::from_millis(100));
      }
      Err(err) => return Err((err, "rename")),
    }
  }
}

fn rename_once(from: &Path, to: &Path, replace: bool) -> io::Result<()> {
  match posix_rename(from, to, replace) {
    Err(err) if is_unsupported(&err) => move_file(from, to, replace),
    other => other,
  }
}

fn posix_rename(from: &Path, to: &Path, replace: bool) -> io::Result<()> {
  let file = OpenOptions::new()
    .access_mode(DELETE)
    .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
    .open(from)?;
  let name: Vec<u16> = to.as_os_str().encode_wide().collect();
  let header = std::mem::offset_of!(FILE_RENAME_INFO, FileName);
  let size = header + (name.len() + 1) * std::mem::size_of::<u16>();
  // u64 storage keeps the struct aligned; the name runs past its declared one-element array.
  let mut buffer = vec![0u64; size.div_ceil(8)];
  let info = buffer.as_mut_ptr() as *mut FILE_RENAME_INFO;
  let flags = FILE_RENAME_FLAG_POSIX_SEMANTICS
    | if replace {
      FILE_RENAME_FLAG_REPLACE_IF_EXISTS
    } else {
      0
    };
  // SAFETY: `buffer` is zeroed, aligned and `size` bytes long, enough for the header
  // and the name with its terminating NUL; the handle is open with DELETE access.
  let ok = unsafe {
    (*info).Anonymous.Flags = flags;
    (*info).FileNameLength = (name.len() * std::mem::size_of::<u16>()) as u32;
    let dest = std::ptr::addr_of_mut!((*info).FileName) as *mut u16;
    std::ptr::copy_nonoverlapping(name.as_ptr(), dest, name.len());
    SetFileInformationByHandle(
      file.as_raw_handle() as HANDLE,
      FileRenameInfoEx,
      info as *const c_void,
      size as u32,
    )
  };
  if ok == 0 {
    return Err(io::Error::last_os_error());
  }
  Ok(())
}

fn move_file(from: &Path, to: &Path, replace: bool) -> io::Result<()> {
  let wide = |p: &Path| {
    p.as_os_str()
      .encode_wide()
      .chain(Some(0))
      .collect::<Vec<u16>>()
  };
  let flags = MOVEFILE_WRITE_THROUGH
    | if replace {
      MOVEFILE_REPLACE_EXISTING
    } else {
      0
    };
  // SAFETY: both strings are NUL-terminated UTF-16 that outlive the call.
  let ok = unsafe { MoveFileExW(wide(from).as_ptr(), wide(to).as_ptr(), flags) };
  if ok == 0 {
    return Err(io::Error::last_os_error());
  }
  Ok(())
}

fn is_unsupported(err: &io::Error) -> bool {
  matches!(
    err.raw_os_error().map(|c| c as u32),
    Some(ERROR_INVALID_PARAMETER | ERROR_NOT_SUPPORTED | ERROR_INVALID_FUNCTION)
  )
}

fn is_transient(err: &io::Error) -> bool {
  matches!(
    err.raw_os_error().map(|c| c as u32),
    Some(ERROR_ACCESS_DENIED | ERROR_SHARING_VIOLATION | ERROR_LOCK_VIOLATION)
  )
}

fn jittered(delay: Duration) -> Duration {
  let nanos = std::time::SystemTime::now()
    .duration_since(std::time::UNIX_EPOCH)
    .map(|d| d.subsec_nanos())
    .unwrap_or(0);
  delay / 2 + delay.mul_f64(f64::from(nanos % 1000) / 2000.0)
}

pub fn remove(target: &Target, temp: &OsStr) -> io::Result<()> {
  std::fs::remove_file(target.dir.join(temp))
}

/// A directory to flush once for a batch: nothing to hold on Windows (see `sync_dir`).
pub struct SyncDir;

impl SyncDir {
  pub fn open(_target: &Target) -> StepResult<SyncDir> {
    Ok(SyncDir)
  }

  pub fn sync(&self) -> io::Result<()> {
    Ok(())
  }
}

pub fn sync_dir(_target: &Target) -> io::Result<()> {
  Ok(())
}
