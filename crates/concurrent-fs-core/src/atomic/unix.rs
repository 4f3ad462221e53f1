//! The Unix steps of an atomic write. All operations are relative to an open handle on
//! the target's directory, so a concurrent rename of a parent cannot split the sequence
//! across two directories.

use super::Durability;
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

type StepResult<T> = Result<T, (io::Error, &'static str)>;

fn step<T>(result: rustix::io::Result<T>, syscall: &'static str) -> StepResult<T> {
  result.map_err(|errno| (io::Error::from(errno), syscall))
}

pub struct Existing {
  mode: u32,
  uid: u32,
  gid: u32,
}

pub struct Target {
  path: PathBuf,
  dir: OwnedFd,
  name: OsString,
  existing: Option<Existing>,
}

impl Target {
  pub fn open(path: &Path) -> StepResult<Target> {
    let Some(name) = path.file_name() else {
      return Err((io::Error::from(rustix::io::Errno::ISDIR), "open"));
    };
    let parent = match path.parent() {
      Some(p) if !p.as_os_str().is_empty() => p,
      _ => Path::new("."),
    };
    let dir = step(
      rfs::open(
        parent,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
      ),
      "open",
    )?;
    let existing = match rfs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
      Ok(stat) => Some(stat),
      Err(rustix::io::Errno::NOENT) => None,
      Err(errno) => return Err((errno.into(), "stat")),
    };
    let existing = match existing {
      None => None,
      Some(stat) => match FileType::from_raw_mode(stat.st_mode) {
        FileType::Directory => return Err((io::Error::from(rustix::io::Errno::ISDIR), "open")),
        // Write through a symlink, like writeFile does, instead of replacing the link.
        FileType::Symlink => return follow_symlink(path),
        // st_mode is u16 on macOS, u32 on Linux.
        #[allow(clippy::useless_conversion)]
        _ => Some(Existing {
          mode: u32::from(stat.st_mode) & 0o7777,
          uid: stat.st_uid,
          gid: stat.st_gid,
        }),
      },
    };
    Ok(Target {
      path: path.to_path_buf(),
      dir,
      name: name.to_os_string(),
      existing,
    })
  }

  pub fn path(&self) -> &Path {
    &self.path
  }

  pub fn name(&self) -> &OsStr {
    &self.name
  }

  pub fn existing(&self) -> Option<&Existing> {
    self.existing.as_ref()
  }
}

fn follow_symlink(path: &Path) -> StepResult<Target> {
  let link = std::fs::read_link(path).map_err(|err| (err, "readlink"))?;
  let resolved = match path.parent() {
    Some(parent) => parent.join(link),
    None => link,
  };
  if resolved == path {
    return Err((io::Error::from(rustix::io::Errno::LOOP), "open"));
  }
  Target::open(&resolved)
}

pub fn create_temp(target: &Target, name: &OsStr) -> io::Result<File> {
  let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
  // 0o666 lets the kernel apply the umask, which is what a new file without `mode` gets.
  let fd = rfs::openat(&target.dir, name, flags, Mode::from_raw_mode(0o666))?;
  Ok(File::from(fd))
}

pub fn set_permissions(
  file: &File,
  existing: Option<&Existing>,
  mode: Option<u32>,
) -> StepResult<()> {
  if let Some(mode) = mode.or(existing.map(|e| e.mode)) {
    step(rfs::fchmod(file, Mode::from_raw_mode(mode as _)), "chmod")?;
  }
  if let Some(existing) = existing {
    let (uid, gid) = (rustix::process::geteuid(), rustix::process::getegid());
    if existing.uid != uid.as_raw() || existing.gid != gid.as_raw() {
      // Keep the old file's owner where we are allowed to (root, or a group we are in);
      // an unprivileged writer cannot, and that must not fail the write.
      let owner = rustix::process::Uid::from_raw(existing.uid);
      let group = rustix::process::Gid::from_raw(existing.gid);
      match rfs::fchown(file, Some(owner), Some(group)) {
        Ok(()) | Err(rustix::io::Errno::PERM) | Err(rustix::io::Errno::INVAL) => {}
        Err(errno) => return Err((errno.into(), "chown")),
      }
      // fchown clears set-user-ID and set-group-ID bits: restore them.
      if existing.mode & 0o6000 != 0 && mode.is_none() {
        step(
          rfs::fchmod(file, Mode::from_raw_mode(existing.mode as _)),
          "chmod",
        )?;
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
  step(rfs::fdatasync(file), "fdatasync")
}

#[cfg(target_vendor = "apple")]
fn flush_data(file: &File) -> StepResult<()> {
  step(rfs::fsync(file), "fsync")
}

#[cfg(not(target_vendor = "apple"))]
fn flush_full(file: &File) -> StepResult<()> {
  step(rfs::fsync(file), "fsync")
}

/// macOS `fsync` leaves the data in the drive's cache; F_FULLFSYNC flushes it. Some
/// filesystems (network, FAT) refuse F_FULLFSYNC: fsync is the best they offer.
#[cfg(target_vendor = "apple")]
fn flush_full(file: &File) -> StepResult<()> {
  match rfs::fcntl_fullfsync(file) {
    Ok(()) => Ok(()),
    Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOTSUP | rustix::io::Errno::OPNOTSUPP) => {
      step(rfs::fsync(file), "fsync")
    }
    Err(errno) => Err((errno.into(), "fsync")),
  }
}

pub fn rename(target: &Target, temp: &OsStr, no_clobber: bool) -> StepResult<()> {
  if no_clobber {
    rename_noreplace(target, temp)
  } else {
    step(
      rfs::renameat(&target.dir, temp, &target.dir, &target.name),
      "rename",
    )
  }
}

#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
fn rename_noreplace(target: &Target, temp: &OsStr) -> StepResult<()> {
  use rustix::io::Errno;
  let flags = rfs::RenameFlags::NOREPLACE;
  match rfs::renameat_with(&target.dir, temp, &target.dir, &target.name, flags) {
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
  step(
    rfs::linkat(
      &target.dir,
      temp,
      &target.dir,
      &target.name,
      AtFlags::empty(),
    ),
    "link",
  )?;
  let _ = rfs::unlinkat(&target.dir, temp, AtFlags::empty());
  Ok(())
}

pub fn remove(target: &Target, temp: &OsStr) -> io::Result<()> {
  Ok(rfs::unlinkat(&target.dir, temp, AtFlags::empty())?)
}

pub fn sync_dir(target: &Target) -> io::Result<()> {
  Ok(rfs::fsync(target.dir.as_fd())?)
}
