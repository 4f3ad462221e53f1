//! Filling a temp file with a copy of the source, on Unix: a clone where the filesystem
//! can, else the cheapest copy it offers.

use super::CopyMethod;
use crate::atomic::TempSite;
use crate::errno::retry_interrupted as retry;
use crate::error::{Error, Result};
use rustix::fs::{self as rfs, FileType, Mode, OFlags, CWD};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

/// The source, open for reading.
pub struct Source {
  file: File,
  path: std::path::PathBuf,
  mode: u32,
}

impl Source {
  /// Opens `path` following symlinks, as `cp` does. Non-blocking, so that a FIFO is
  /// refused instead of waiting for a writer; anything but a regular file is refused.
  pub fn open(path: &Path) -> Result<Source> {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
    let fail = |errno: rustix::io::Errno, syscall| Error::from_io(&errno.into(), syscall, path);
    let fd = retry(|| rfs::openat(CWD, path, flags, Mode::empty())).map_err(|e| fail(e, "open"))?;
    let stat = retry(|| rfs::fstat(&fd)).map_err(|e| fail(e, "fstat"))?;
    match FileType::from_raw_mode(stat.st_mode) {
      FileType::RegularFile => {}
      FileType::Directory => return Err(Error::synthetic("EISDIR", "open", path)),
      _ => return Err(Error::synthetic("EINVAL", "open", path)),
    }
    #[allow(clippy::useless_conversion)] // st_mode is u16 on macOS
    let mode = u32::from(stat.st_mode) & 0o7777;
    Ok(Source {
      file: File::from(fd),
      path: path.to_path_buf(),
      mode,
    })
  }

  pub fn mode(&self) -> Option<u32> {
    Some(self.mode)
  }
}

/// Makes the temp file at `site` as a copy of `source`; `None` when the name is taken.
#[cfg(target_vendor = "apple")]
pub fn fill(
  source: &Source,
  site: &TempSite<'_>,
  dest: &Path,
) -> Result<Option<(File, CopyMethod)>> {
  use rustix::io::Errno;
  // fclonefileat creates the name itself (exclusively); the clone is then opened to
  // flush it. Not APFS (ENOTSUP), another volume (EXDEV): copy instead.
  match retry(|| {
    rfs::fclonefileat(
      &source.file,
      site.dir(),
      site.name(),
      rfs::CloneFlags::empty(),
    )
  }) {
    Ok(()) => {
      let flags = OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
      let fd = retry(|| rfs::openat(site.dir(), site.name(), flags, Mode::empty()))
        .map_err(|e| Error::from_io(&e.into(), "open", dest))?;
      return Ok(Some((File::from(fd), CopyMethod::Reflink)));
    }
    Err(Errno::EXIST) => return Ok(None),
    Err(_) => {}
  }
  let Some(file) = create_empty(site, dest)? else {
    return Ok(None);
  };
  read_write(source, &file, dest)?;
  Ok(Some((file, CopyMethod::Copy)))
}

/// Makes the temp file at `site` as a copy of `source`; `None` when the name is taken.
#[cfg(not(target_vendor = "apple"))]
pub fn fill(
  source: &Source,
  site: &TempSite<'_>,
  dest: &Path,
) -> Result<Option<(File, CopyMethod)>> {
  let Some(file) = create_empty(site, dest)? else {
    return Ok(None);
  };
  let method = fill_open(source, &file, dest)?;
  Ok(Some((file, method)))
}

fn create_empty(site: &TempSite<'_>, dest: &Path) -> Result<Option<File>> {
  match site.create_empty() {
    Ok(file) => Ok(Some(file)),
    Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(None),
    Err(err) => Err(Error::from_io(&err, "open", dest)),
  }
}

/// Linux: clone, else copy in the kernel, else copy through user space.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn fill_open(source: &Source, file: &File, dest: &Path) -> Result<CopyMethod> {
  // All or nothing: a failed clone (not supported here, another filesystem) left the
  // temp file empty, so any error means "copy instead".
  if retry(|| rfs::ioctl_ficlone(file, &source.file)).is_ok() {
    return Ok(CopyMethod::Reflink);
  }
  if copy_range(source, file, dest)? {
    return Ok(CopyMethod::CopyRange);
  }
  read_write(source, file, dest)?;
  Ok(CopyMethod::Copy)
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn fill_open(source: &Source, file: &File, dest: &Path) -> Result<CopyMethod> {
  read_write(source, file, dest)?;
  Ok(CopyMethod::Copy)
}

/// `copy_file_range` until the end of the source. False, with nothing copied, where it
/// cannot be used here (an old kernel, another filesystem, a filesystem without it).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn copy_range(source: &Source, file: &File, dest: &Path) -> Result<bool> {
  use rustix::io::Errno;
  const CHUNK: usize = 1 << 30;
  let mut copied = 0u64;
  loop {
    match retry(|| rfs::copy_file_range(&source.file, None, file, None, CHUNK)) {
      // A filesystem whose files report no size (procfs, some FUSE) copies nothing.
      Ok(0) => return Ok(copied > 0 || source_is_empty(source)),
      Ok(n) => copied += n as u64,
      Err(
        Errno::NOSYS
        | Errno::XDEV
        | Errno::INVAL
        | Errno::OPNOTSUPP
        | Errno::PERM
        | Errno::BADF
        | Errno::TXTBSY,
      ) if copied == 0 => return Ok(false),
      Err(errno) => return Err(Error::from_io(&errno.into(), "copy_file_range", dest)),
    }
  }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn source_is_empty(source: &Source) -> bool {
  rfs::fstat(&source.file).is_ok_and(|stat| stat.st_size == 0)
}

/// Copies through a buffer from where the source's offset is (its start: nothing read
/// it yet) to its end.
fn read_write(source: &Source, mut file: &File, dest: &Path) -> Result<()> {
  let mut buffer = vec![0u8; 128 * 1024];
  let mut reader = &source.file;
  loop {
    let n = match reader.read(&mut buffer) {
      Ok(0) => return Ok(()),
      Ok(n) => n,
      Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
      Err(err) => return Err(Error::from_io(&err, "read", &source.path)),
    };
    let chunk = buffer.get(..n).unwrap_or_default();
    file
      .write_all(chunk)
      .map_err(|err| Error::from_io(&err, "write", dest))?;
  }
}
