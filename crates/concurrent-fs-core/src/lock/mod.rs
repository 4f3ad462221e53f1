//! Cross-process file locks: `flock` on Unix, `LockFileEx` on Windows (both through
//! std's `File::try_lock`), whole-file, shared or exclusive.
//!
//! # Ownership
//!
//! A lock belongs to an open file description, not to a process or thread: two opens of
//! one lock file in one process exclude each other exactly as two processes do. A lock
//! object ([`LockHandle`]) owns its own open file description and keeps it open between
//! holds (see "Releasing"); dropping the handle closes it. A [`HeldLock`] (what a wait
//! hands over) owns a locked descriptor; dropping it closes the descriptor, which
//! releases the lock. The kernel closes everything when the holder dies, SIGKILL
//! included, so there are no stale locks. Descriptors are close-on-exec (std
//! opens everything with `O_CLOEXEC`), so a child spawned while a lock is held does not
//! keep it alive.
//!
//! # Confirming a lock
//!
//! A taken lock is reported held only after two checks (see `identity` and `foreign`):
//! the locked file is still the one at the lock path (a lock file deleted or replaced
//! meanwhile is opened and locked again, so deleting a lock file never lets a waiter of
//! the old file in beside a newcomer), and no live pure-JS fallback process holds the
//! path through its marker file (Linux). A lock path that is not a regular file is
//! refused (`EINVAL`; a FIFO is opened without blocking first).
//!
//! # Waiting
//!
//! Waiting must not block the caller's thread (the JS event loop), must not park a
//! libuv threadpool thread for the length of the wait (four waiters would starve every
//! `fs` call, including the holder's), and must hand over promptly. So:
//!
//! - One dedicated thread per process (see [`waiter`]) owns every pending wait. Each
//!   waiter keeps its lock file open and retries a non-blocking `try_lock` when there is
//!   reason to believe the lock was released.
//! - On Linux the reason is an inotify `IN_CLOSE` event on the lock file: every release
//!   closes a descriptor (ours always do, and a dead holder's are closed by the kernel),
//!   so handover costs one event delivery, not a poll period. The watch is added *before*
//!   the first retry, so a release between a failed try and the watch is never missed.
//! - A slow safety-net poll covers releases that produce no close event (another program
//!   calling `flock(LOCK_UN)` and keeping its descriptor, or a holder on another NFS
//!   client). Where inotify is missing (macOS, Windows, filesystems that refuse the
//!   watch) the poll is the mechanism, with a short backoff (1 ms doubling to 16 ms).
//! - Timeouts and cancellation are the waiter thread's own deadlines and commands; a
//!   blocked `flock` call could be interrupted by neither.
//!
//! Whether to wait at all is decided in one place, [`LockHandle::acquire`]: a try on
//! the handle's kept descriptor settles an uncontended acquire on the caller's thread,
//! a zero timeout is that one try, and only a contended acquire hands the handle's
//! open lock file to the waiter thread (so it is opened once). A blocking wait
//! ([`LockHandle::lock_blocking`], for `acquireSync`) is the same acquire with the
//! caller parked on a channel.
//!
//! # Releasing
//!
//! Closing the descriptor at every release would cost an open, an `fstat` and a close
//! per hold, and it is only needed to wake waiters (their inotify `IN_CLOSE`). So a
//! handle keeps its descriptor, and a release is `flock(LOCK_UN)` unless someone waits:
//!
//! - A waiter *announces* itself before its first try (see `announce`): a shared OFD
//!   record lock on byte 1 of the lock file, held by the descriptor it waits with, so
//!   it vanishes when that descriptor is closed (a waiter that dies, times out or is
//!   cancelled withdraws by closing; one that wins withdraws explicitly).
//! - A release unlocks, *then* asks `F_OFD_GETLK` whether any other descriptor holds
//!   an announcement, and only then closes (raising the `IN_CLOSE` the waiter sleeps
//!   on). The next hold reopens.
//!
//! Why no waiter is missed: a waiter does announce, watch, try; a releaser does unlock,
//! check, close. Both kinds of lock live in one per-inode lock context under one kernel
//! lock, so the steps fall in one order. If the waiter's try comes after the unlock, the
//! try sees the lock free (or someone else's hold, whose own release repeats this
//! argument). If it comes before the unlock, the announcement came earlier still, so
//! the check sees it and the close follows; the watch also came before the try, so the
//! close's event reaches the waiter. (A check *before* the unlock would lose a waiter
//! that announces and fails its try between the two.)
//!
//! Where announcing is not safe (NFS, SMB and 9p emulate `flock` with whole-file record
//! locks, which an announcement would collide with) every release closes, as before
//! announcements existed; the choice is made per lock file from its filesystem type,
//! so every process decides alike. A waiter that does not announce (an older version
//! of this library) is still served by its safety-net poll, only later. A holder that
//! handed its descriptor to a child (`hand_out_fd`) releases by closing: an unlock
//! would release the child's lock too. Descriptors are close-on-exec, so a spawned
//! child never inherits a held or a kept lock file.

mod announce;
mod file;
#[cfg(target_os = "linux")]
mod foreign;
mod handle;
mod identity;
mod release_events;
mod waiter;

use crate::error::Result;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use file::HeldLock;
pub use handle::{Acquire, LockHandle};
pub use waiter::{Wait, WaitHandle};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockKind {
  /// Excludes exclusive locks only; any number of shared holders coexist.
  Shared,
  /// Excludes every other lock.
  Exclusive,
}

/// How a wait for a lock ended. `L` is what an acquired wait hands over: the
/// [`HeldLock`]. (The waiter thread decides an outcome, as `WaitOutcome<()>`, before
/// it turns the wait's lock file into that lock.)
#[derive(Debug)]
pub enum WaitOutcome<L = HeldLock> {
  Acquired(L),
  TimedOut,
  Cancelled,
}

impl<L> WaitOutcome<L> {
  /// The same outcome, with `hand_over` applied to an acquired wait's lock.
  pub fn map<M>(self, hand_over: impl FnOnce(L) -> M) -> WaitOutcome<M> {
    match self {
      WaitOutcome::Acquired(lock) => WaitOutcome::Acquired(hand_over(lock)),
      WaitOutcome::TimedOut => WaitOutcome::TimedOut,
      WaitOutcome::Cancelled => WaitOutcome::Cancelled,
    }
  }
}

/// Takes the lock if it is free now. `Ok(None)` means it is held elsewhere.
/// The lock file is created if missing, and never deleted.
pub fn try_lock(path: &Path, kind: LockKind) -> Result<Option<HeldLock>> {
  file::try_lock(path, kind)
}

/// Waits for the lock on the waiter thread, without a first try here (see
/// [`LockHandle::acquire`] for the policy); `done` runs there when the wait ends.
/// `timeout` of `None` waits forever.
pub fn lock_async<F>(
  path: PathBuf,
  kind: LockKind,
  timeout: Option<Duration>,
  done: F,
) -> WaitHandle
where
  F: FnOnce(Result<WaitOutcome>) + Send + 'static,
{
  Wait::new(None, path, kind, timeout).submit(done)
}

/// Takes the lock, waiting if need be ([`LockHandle::lock_blocking`]) with the calling
/// thread blocked. `Ok(None)` means the timeout passed first.
pub fn lock_blocking(
  path: &Path,
  kind: LockKind,
  timeout: Option<Duration>,
) -> Result<Option<HeldLock>> {
  let mut handle = LockHandle::new(path.to_path_buf(), kind);
  handle.lock_blocking(timeout)?;
  Ok(handle.into_held())
}

#[cfg(test)]
mod tests;
