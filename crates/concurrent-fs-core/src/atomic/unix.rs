//! The Unix steps of an atomic write. All operations are relative to an open handle on
//! the target's directory, so a concurrent rename of a parent cannot split the sequence
//! across two directories.
//!
//! Finding the target is done the way the kernel does it, one directory handle at a
//! time: open the parent (the kernel resolves every `..` and symlink in it physically),
//! look at the last name without following it, and for a symlink read its text and
//! start again relative to the directory holding the link, at most 40 times (Linux's
//! limit; then `ELOOP`). Nothing is ever joined or normalised as text.

use super::Durability;
use crate::errno::retry_interrupted as retry;
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, CWD};
use rustix::io::Errno;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

type StepResult<T> = Result<T, (io::Error, &'static str)>;

fn step<T>(result: rustix::io::Result<T>, syscall: &'static str) -> StepResult<T> {
  result.map_err(|errno| (io::Error::from(errno), syscall))
}

fn fail<T>(errno: Errno, syscall: &'static str) -> StepResult<T> {
  Err((io::Error::from(errno), syscall))
}

/// Linux's limit on symlinks followed in one lookup (`MAXSYMLINKS`).
const MAX_SYMLINKS: usize = 40;

/// How a directory is opened to work relative to it. `O_PATH` needs no read permission,
/// so a write-only (`-wx`) directory works as it does for `fs.writeFile`; elsewhere
/// the directory must be readable.
#[cfg(any(target_os = "linux", target_os = "android"))]
const DIR_HANDLE: OFlags = OFlags::PATH;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const DIR_HANDLE: OFlags = OFlags::RDONLY;

pub struct Existing {
  mode: u32,
  uid: u32,
  gid: u32,
}

/// What is at the target's name.
enum Entry {
  Absent,
  /// A regular file, to be replaced.
  File(Existing),
  /// Something else (only when links are not followed: a symlink, directory, FIFO ...).
  Other,
}

pub type DirKey = (u64, u64);

pub struct Target {
  /// Where the name lives; with `O_PATH` it cannot be flushed, see `open_for_sync`.
  dir: OwnedFd,
  /// The same directory opened for reading, to flush it after the rename.
  sync_dir: Option<OwnedFd>,
  name: OsString,
  entry: Entry,
}

impl Target {
  /// Finds what writing to `path` replaces. With `follow`, a symlink in the last
  /// component is followed (as `fs.writeFile` does); without, any entry at `path` is
  /// the answer (as `open(O_CREAT | O_EXCL)` decides).
  pub fn open(path: &Path, follow: bool) -> StepResult<Target> {
    let (mut dir, mut name) = locate(CWD, path.as_os_str().as_bytes(), follow)?;
    for _ in 0..=MAX_SYMLINKS {
      let stat = match retry(|| rfs::statat(&dir, &name, AtFlags::SYMLINK_NOFOLLOW)) {
        Ok(stat) => stat,
        Err(Errno::NOENT) => return Ok(Target::new(dir, name, Entry::Absent)),
        Err(errno) => return fail(errno, "open"),
      };
      let entry = match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile => Entry::File(existing(&stat)),
        _ if !follow => Entry::Other,
        FileType::Symlink => {
          let text = step(retry(|| rfs::readlinkat(&dir, &name, Vec::new())), "open")?;
          (dir, name) = locate(dir.as_fd(), text.as_bytes(), follow)?;
          continue;
        }
        FileType::Directory => return fail(Errno::ISDIR, "open"),
        // A FIFO, socket or device has no content to replace, and replacing the node
        // would break whoever uses it: refuse, as a non-blocking open(2) does (ENXIO).
        _ => return fail(Errno::NXIO, "open"),
      };
      return Ok(Target::new(dir, name, entry));
    }
    fail(Errno::LOOP, "open")
  }

  fn new(dir: OwnedFd, name: OsString, entry: Entry) -> Target {
    Target {
      dir,
      sync_dir: None,
      name,
      entry,
    }
  }

  /// Opens the directory for flushing, before anything is written: a directory that
  /// cannot be read (mode `-wx`) fails here, with the target untouched.
  pub fn open_for_sync(&mut self) -> StepResult<()> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = step(
      retry(|| rfs::openat(&self.dir, ".", flags, Mode::empty())),
      "open",
    )?;
    self.sync_dir = Some(fd);
    Ok(())
  }

  pub fn name(&self) -> &OsStr {
    &self.name
  }

  /// The directory the name lives in (for macOS's `fclonefileat`).
  #[cfg(target_vendor = "apple")]
  pub fn dir_fd(&self) -> BorrowedFd<'_> {
    self.dir.as_fd()
  }

  /// The directory's identity (device, inode): two targets with one key share a directory
  /// flush, however their paths were spelled.
  pub fn dir_key(&self) -> io::Result<DirKey> {
    let stat = retry(|| rfs::fstat(&self.dir))?;
    // dev_t is i32 on macOS, u64 on Linux: only equality matters here.
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    Ok((stat.st_dev as u64, u64::from(stat.st_ino)))
  }

  /// True when there is an entry at the name (of any kind).
  pub fn exists(&self) -> bool {
    !matches!(self.entry, Entry::Absent)
  }

  /// The regular file being replaced, if any.
  pub fn existing(&self) -> Option<&Existing> {
    match &self.entry {
      Entry::File(existing) => Some(existing),
      _ => None,
    }
  }
}

// st_mode is u16 on macOS, u32 on Linux.
#[allow(clippy::useless_conversion)]
fn existing(stat: &rfs::Stat) -> Existing {
  Existing {
    mode: u32::from(stat.st_mode) & 0o7777,
    uid: stat.st_uid,
    gid: stat.st_gid,
  }
}

/// Opens the directory `text` (a path, or a symlink's text) names its last component in,
/// relative to `base`, and returns it with that component. A path whose last component
/// is not a name (`f/`, `f/.`, `..`) fails as `open(O_CREAT)` fails on it (with `O_EXCL`
/// when not following: an existing `.` is then EEXIST).
fn locate(base: BorrowedFd<'_>, text: &[u8], follow: bool) -> StepResult<(OwnedFd, OsString)> {
  let flags = DIR_HANDLE | OFlags::DIRECTORY | OFlags::CLOEXEC;
  let open_dir = |dir: &[u8]| {
    let dir = if dir.is_empty() { b".".as_slice() } else { dir };
    step(
      retry(|| rfs::openat(base, OsStr::from_bytes(dir), flags, Mode::empty())),
      "open",
    )
  };
  match last_component(text) {
    Last::Name { parent, name } => Ok((open_dir(parent)?, OsStr::from_bytes(name).into())),
    // open(2) with O_CREAT refuses a trailing slash with EISDIR, once the directory
    // part resolves.
    Last::TrailingSlash { parent } => {
      open_dir(parent)?;
      fail(Errno::ISDIR, "open")
    }
    // `.` and `..` name directories, if they resolve at all.
    Last::Dots => match retry(|| rfs::statat(base, OsStr::from_bytes(text), AtFlags::empty())) {
      Ok(_) if follow => fail(Errno::ISDIR, "open"),
      Ok(_) => fail(Errno::EXIST, "open"),
      Err(errno) => fail(errno, "open"),
    },
  }
}

/// The last component of a path, as open(2) sees it.
enum Last<'a> {
  /// A name, and the directory part before it (possibly empty: the base directory).
  Name { parent: &'a [u8], name: &'a [u8] },
  /// A name followed by one or more `/`.
  TrailingSlash { parent: &'a [u8] },
  /// `.`, `..` or `/`: a directory, whatever follows.
  Dots,
}

fn last_component(text: &[u8]) -> Last<'_> {
  let end = text.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
  let trimmed = &text[..end];
  let (parent, name) = match trimmed.iter().rposition(|&b| b == b'/') {
    // The directory part without its trailing slashes ("/" stays "/"), as it would be
    // spelled on its own.
    Some(i) => {
      let dir_end = trimmed[..i]
        .iter()
        .rposition(|&b| b != b'/')
        .map_or(1, |j| j + 1);
      (&trimmed[..dir_end], &trimmed[i + 1..])
    }
    None => (&trimmed[..0], trimmed),
  };
  if name.is_empty() || name == b"." || name == b".." {
    Last::Dots
  } else if end < text.len() {
    Last::TrailingSlash { parent }
  } else {
    Last::Name { parent, name }
  }
}

pub fn create_temp(target: &Target, name: &OsStr) -> io::Result<File> {
  let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
  // 0o666 lets the kernel apply the umask, which is what a new file without `mode` gets.
  let fd = retry(|| rfs::openat(&target.dir, name, flags, Mode::from_raw_mode(0o666)))?;
  Ok(File::from(fd))
}

pub fn set_permissions(
  file: &File,
  existing: Option<&Existing>,
  mode: Option<u32>,
) -> StepResult<()> {
  if let Some(mode) = mode.or(existing.map(|e| e.mode)) {
    step(
      retry(|| rfs::fchmod(file, Mode::from_raw_mode(mode as _))),
      "chmod",
    )?;
  }
  if let Some(existing) = existing {
    let (uid, gid) = (rustix::process::geteuid(), rustix::process::getegid());
    if existing.uid != uid.as_raw() || existing.gid != gid.as_raw() {
      // Keep the old file's owner where we are allowed to (root, or a group we are in);
      // an unprivileged writer cannot, and that must not fail the write.
      let owner = rustix::process::Uid::from_raw(existing.uid);
      let group = rustix::process::Gid::from_raw(existing.gid);
      match retry(|| rfs::fchown(file, Some(owner), Some(group))) {
        Ok(()) | Err(rustix::io::Errno::PERM) | Err(rustix::io::Errno::INVAL) => {}
        Err(errno) => return Err((errno.into(), "chown")),
      }
      // fchown clears set-user-ID and set-group-ID bits: restore them.
      if existing.mode & 0o6000 != 0 && mode.is_none() {
        let mode = Mode::from_raw_mode(existing.mode as _);
        step(retry(|| rfs::fchmod(file, mode)), "chmod")?;
      }
    }
  }
  Ok(())
}

pub fn flush(file: &File, durability: Durability) -> StepResult<()> {
  match durability {
    Durability::None => Ok(()),
    Durability::Data => flush_data(file),
    Durability::Full => flush_full(file),
  }
}

#[cfg(not(target_vendor = "apple"))]
fn flush_data(file: &File) -> StepResult<()> {
  step(retry(|| rfs::fdatasync(file)), "fdatasync")
}

#[cfg(target_vendor = "apple")]
fn flush_data(file: &File) -> StepResult<()> {
  step(retry(|| rfs::fsync(file)), "fsync")
}

#[cfg(not(target_vendor = "apple"))]
fn flush_full(file: &File) -> StepResult<()> {
  step(retry(|| rfs::fsync(file)), "fsync")
}

/// macOS `fsync` leaves the data in the drive's cache; F_FULLFSYNC flushes it. Some
/// filesystems (network, FAT) refuse F_FULLFSYNC: fsync is the best they offer.
#[cfg(target_vendor = "apple")]
fn flush_full(file: &File) -> StepResult<()> {
  match retry(|| rfs::fcntl_fullfsync(file)) {
    Ok(()) => Ok(()),
    Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOTSUP | rustix::io::Errno::OPNOTSUPP) => {
      step(retry(|| rfs::fsync(file)), "fsync")
    }
    Err(errno) => Err((errno.into(), "fsync")),
  }
}

pub fn rename(target: &Target, temp: &OsStr, no_clobber: bool) -> StepResult<()> {
  if no_clobber {
    rename_noreplace(target, temp)
  } else {
    step(
      retry(|| rfs::renameat(&target.dir, temp, &target.dir, &target.name)),
      "rename",
    )
  }
}

#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
fn rename_noreplace(target: &Target, temp: &OsStr) -> StepResult<()> {
  let flags = rfs::RenameFlags::NOREPLACE;
  match retry(|| rfs::renameat_with(&target.dir, temp, &target.dir, &target.name, flags)) {
    Ok(()) => Ok(()),
    // The filesystem (or an old kernel) has no atomic no-replace rename.
    Err(Errno::INVAL | Errno::NOSYS | Errno::NOTSUP) => link_then_unlink(target, temp),
    Err(errno) => Err((errno.into(), "rename")),
  }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn rename_noreplace(target: &Target, temp: &OsStr) -> StepResult<()> {
  link_then_unlink(target, temp)
}

/// `link` fails with EEXIST atomically. A crash between the two calls leaves the temp
/// as a second name of the new file: the target is still correct.
fn link_then_unlink(target: &Target, temp: &OsStr) -> StepResult<()> {
  let (dir, name) = (&target.dir, &target.name);
  step(
    retry(|| rfs::linkat(dir, temp, dir, name, AtFlags::empty())),
    "link",
  )?;
  let _ = retry(|| rfs::unlinkat(dir, temp, AtFlags::empty()));
  Ok(())
}

pub fn remove(target: &Target, temp: &OsStr) -> io::Result<()> {
  Ok(retry(|| {
    rfs::unlinkat(&target.dir, temp, AtFlags::empty())
  })?)
}

/// A directory opened for flushing, apart from any one write (a batch flushes each
/// directory once, after all its renames).
pub struct SyncDir(OwnedFd);

impl SyncDir {
  pub fn open(target: &Target) -> StepResult<SyncDir> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = step(
      retry(|| rfs::openat(&target.dir, ".", flags, Mode::empty())),
      "open",
    )?;
    Ok(SyncDir(fd))
  }

  pub fn sync(&self) -> io::Result<()> {
    Ok(retry(|| rfs::fsync(&self.0))?)
  }
}

/// Flushes the directory opened by `Target::open_for_sync`.
pub fn sync_dir(target: &Target) -> io::Result<()> {
  match &target.sync_dir {
    Some(dir) => Ok(retry(|| rfs::fsync(dir))?),
    None => Err(io::Error::from(Errno::BADF)),
  }
}
