//! Waiters announce themselves, so that a release wakes them only when someone waits
//! (design and the ordering argument in the module docs of `lock`, "Releasing").
//!
//! Linux: a waiter holds a shared OFD record lock on byte 1 of the lock file (the file
//! stays empty: a record lock may lie past the end). The kernel keeps record locks and
//! `flock` locks apart on local filesystems, so the announcement neither blocks nor is
//! blocked by the lock itself; it disappears when the waiter's descriptor is closed, a
//! dead waiter's included. A releaser asks with one `F_OFD_GETLK` whether any other
//! open file description holds it.
//!
//! Only on filesystems known to keep the two kinds apart: NFS, SMB and 9p emulate `flock`
//! with whole-file record locks, where an announcement would collide with the lock
//! itself. There nobody announces and every release closes (the behaviour before
//! announcements existed).
//!
//! Elsewhere (macOS, Windows) waiters poll, so no release needs to wake anyone.

use std::fs::File;

/// Whether a release that finds no announced waiter may keep its descriptor: waiters on
/// this file announce themselves (Linux, a local filesystem) or need no wake-up at all
/// (elsewhere). Read once, when the lock file is opened.
#[cfg(target_os = "linux")]
pub fn release_can_keep_open(file: &File) -> bool {
  // f_type values of filesystems whose flock is the VFS's own (linux/magic.h).
  const LOCAL: [i64; 12] = [
    0xEF53,      // ext2/3/4
    0x5846_5342, // xfs
    0x9123_683E, // btrfs
    0x0102_1994, // tmpfs
    0x8584_58F6, // ramfs
    0xF2F5_2010, // f2fs
    0x2FC1_2FC1, // zfs
    0x794C_7630, // overlayfs
    0xCA45_1A4E, // bcachefs
    0x3153_464A, // jfs
    0x5265_4973, // reiserfs
    0x0000_4D44, // vfat/msdos
  ];
  match rustix::fs::fstatfs(file) {
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    Ok(stat) => LOCAL.contains(&(stat.f_type as i64)),
    Err(_) => false,
  }
}

#[cfg(not(target_os = "linux"))]
pub fn release_can_keep_open(_file: &File) -> bool {
  true
}

/// Announces a waiter (best effort: without it, the waiter is woken by a later close or
/// its safety-net poll).
#[cfg(target_os = "linux")]
pub fn announce(file: &File) {
  let _ = set(file, libc::F_RDLCK);
}

/// Withdraws an announcement: the waiter now holds the lock and waits no more.
#[cfg(target_os = "linux")]
pub fn withdraw(file: &File) {
  let _ = set(file, libc::F_UNLCK);
}

/// Whether another open file description announced a waiter. An error counts as yes:
/// the release then closes, which wakes everyone.
#[cfg(target_os = "linux")]
pub fn someone_waits(file: &File) -> bool {
  let mut probe = byte_one(libc::F_WRLCK);
  // SAFETY: `probe` is a valid, writable `struct flock` for the duration of the call,
  // and the descriptor is open.
  let rc = unsafe { libc::fcntl(fd(file), libc::F_OFD_GETLK, &mut probe) };
  rc != 0 || i32::from(probe.l_type) != libc::F_UNLCK
}

#[cfg(not(target_os = "linux"))]
pub fn announce(_file: &File) {}

#[cfg(not(target_os = "linux"))]
pub fn withdraw(_file: &File) {}

/// Waiters poll here: a release never needs to wake anyone.
#[cfg(not(target_os = "linux"))]
pub fn someone_waits(_file: &File) -> bool {
  false
}

#[cfg(target_os = "linux")]
fn set(file: &File, kind: i32) -> std::io::Result<()> {
  let request = byte_one(kind);
  // SAFETY: `request` is a valid `struct flock` and the descriptor is open.
  if unsafe { libc::fcntl(fd(file), libc::F_OFD_SETLK, &request) } == 0 {
    Ok(())
  } else {
    Err(std::io::Error::last_os_error())
  }
}

#[cfg(target_os = "linux")]
fn byte_one(kind: i32) -> libc::flock {
  // SAFETY: an all-zero `struct flock` is a valid value (l_pid must be 0 for OFD locks).
  let mut lock: libc::flock = unsafe { std::mem::zeroed() };
  lock.l_type = kind as libc::c_short;
  lock.l_whence = libc::SEEK_SET as libc::c_short;
  lock.l_start = 1;
  lock.l_len = 1;
  lock
}

#[cfg(target_os = "linux")]
fn fd(file: &File) -> i32 {
  use std::os::fd::AsRawFd;
  file.as_raw_fd()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
  use super::*;
  use crate::test_util::ScratchDir;

  #[test]
  fn an_announcement_is_seen_by_other_descriptors_until_withdrawn_or_closed() {
    let dir = ScratchDir::new("announce");
    let path = dir.join("a.lock");
    let open = || {
      std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .unwrap()
    };
    let (releaser, waiter) = (open(), open());
    assert!(
      release_can_keep_open(&releaser),
      "the test directory's filesystem"
    );
    assert!(!someone_waits(&releaser));
    announce(&waiter);
    assert!(someone_waits(&releaser));
    assert!(!someone_waits(&waiter), "a waiter does not see itself");
    withdraw(&waiter);
    assert!(!someone_waits(&releaser));
    announce(&waiter);
    drop(waiter);
    assert!(!someone_waits(&releaser), "closing withdraws");
    // The announcement does not touch the flock, in either direction.
    let other = open();
    announce(&other);
    releaser.try_lock().unwrap();
    assert!(someone_waits(&releaser));
    assert_eq!(
      std::fs::metadata(&path).unwrap().len(),
      0,
      "the file stays empty"
    );
  }
}
