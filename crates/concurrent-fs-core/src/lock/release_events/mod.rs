//! Signals that a lock file was probably released, for the waiter thread.
//!
//! On Linux: inotify `IN_CLOSE` on the lock file (a release closes a descriptor).
//! Elsewhere: no signal at all, so every waiter is polled (see the waiter's backoff).
//! Both give the waiter thread a sleep that other threads can interrupt ([`Waker`]).

#[cfg(target_os = "linux")]
mod inotify;
#[cfg(target_os = "linux")]
pub use inotify::{ReleaseEvents, Waker};

#[cfg(not(target_os = "linux"))]
mod polling;
#[cfg(not(target_os = "linux"))]
pub use polling::{ReleaseEvents, Waker};

/// Identifies a watched lock file (an inode, on Linux).
pub type WatchId = i32;

/// What a wait saw.
#[derive(Default)]
pub struct Released {
  /// Watched files that had a descriptor closed.
  pub watches: Vec<WatchId>,
  /// Events were lost (queue overflow): treat every waiter as signalled.
  pub all: bool,
}
