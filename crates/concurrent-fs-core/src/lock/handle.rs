//! One lock object's lock: its own open file description, kept open between holds so
//! that an uncontended cycle is a lock and an unlock on a descriptor, not an open, a
//! lock and a close (see "Releasing" in the module docs of `lock`).

use super::file::{self, Attempt, HeldLock, LockFile, MAX_MOVES};
use super::waiter::Wait;
use super::LockKind;
use crate::error::Result;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What [`LockHandle::acquire`] decided.
#[derive(Debug)]
pub enum Acquire {
  /// Decided now: `true` when the lock is held, `false` when it is busy and the timeout
  /// was zero (one try).
  Settled(bool),
  /// Busy: a wait to submit ([`Wait::submit`], or [`Wait::blocking`]); a won wait's
  /// lock goes back to the handle through [`LockHandle::adopt`].
  Waiting(Wait),
}

#[derive(Debug)]
pub struct LockHandle {
  path: PathBuf,
  kind: LockKind,
  /// The lock file, opened by the first attempt and kept until a release must close it
  /// or the handle is closed or dropped.
  file: Option<LockFile>,
  held: bool,
  /// The held descriptor was handed to a child process, which may keep it: only our
  /// close lets go of it then, an unlock would release the child's lock too.
  handed_out: bool,
}

impl LockHandle {
  /// No I/O: the lock file is opened by the first attempt.
  pub fn new(path: PathBuf, kind: LockKind) -> Self {
    LockHandle {
      path,
      kind,
      file: None,
      held: false,
      handed_out: false,
    }
  }

  pub fn path(&self) -> &Path {
    &self.path
  }

  pub fn kind(&self) -> LockKind {
    self.kind
  }

  pub fn is_held(&self) -> bool {
    self.held
  }

  /// Whether the lock file is open (held or kept between holds).
  pub fn is_open(&self) -> bool {
    self.file.is_some()
  }

  /// Takes the lock if it is free now; `false` when it is held elsewhere. Holding it
  /// already is `true`.
  pub fn try_lock(&mut self) -> Result<bool> {
    if self.held {
      return Ok(true);
    }
    for _ in 0..MAX_MOVES {
      let lock = match &self.file {
        Some(lock) => lock,
        None => self.file.insert(file::open(&self.path)?),
      };
      match file::try_on(lock, self.kind)? {
        Attempt::Held => {
          self.held = true;
          return Ok(true);
        }
        Attempt::Busy => return Ok(false),
        // Deleted or replaced since it was opened: the next round opens the new one.
        Attempt::Moved => self.file = None,
      }
    }
    Ok(false)
  }

  /// The lock policy, decided here only: try first on the kept descriptor (an
  /// uncontended acquire never reaches the waiter thread); a `timeout` of zero is that
  /// one try; otherwise wait, up to `timeout` (`None`: forever). The wait takes the
  /// lock file this try opened, so a contended acquire opens it once; until the wait
  /// ends the handle has no open file.
  pub fn acquire(&mut self, timeout: Option<Duration>) -> Result<Acquire> {
    if self.try_lock()? {
      return Ok(Acquire::Settled(true));
    }
    if timeout == Some(Duration::ZERO) {
      return Ok(Acquire::Settled(false));
    }
    let wait = Wait::new(self.file.take(), self.path.clone(), self.kind, timeout);
    Ok(Acquire::Waiting(wait))
  }

  /// [`acquire`](Self::acquire), blocking the calling thread while it waits; `false`
  /// when `timeout` passed.
  pub fn lock_blocking(&mut self, timeout: Option<Duration>) -> Result<bool> {
    let wait = match self.acquire(timeout)? {
      Acquire::Settled(held) => return Ok(held),
      Acquire::Waiting(wait) => wait,
    };
    match wait.blocking()? {
      Some(held) => {
        self.adopt(held);
        Ok(true)
      }
      None => Ok(false),
    }
  }

  /// The hold as a [`HeldLock`] (dropping it releases); `None` when not held.
  pub fn into_held(mut self) -> Option<HeldLock> {
    let file = self.file.take().filter(|_| self.held)?;
    Some(file.into_held())
  }

  /// Takes over a lock won by a wait ([`Acquire::Waiting`]) as this handle's hold; the
  /// descriptor it held so far, if any, is closed.
  pub fn adopt(&mut self, held: HeldLock) {
    self.file = Some(held.into_lock_file());
    self.held = true;
    self.handed_out = false;
  }

  /// Releases the lock (nothing when not held). The descriptor stays open for the next
  /// hold unless a waiter must be woken by its close, or a child may share it.
  pub fn release(&mut self) {
    if !std::mem::replace(&mut self.held, false) {
      return;
    }
    let keep = !std::mem::replace(&mut self.handed_out, false)
      && self.file.as_ref().is_some_and(LockFile::release);
    if !keep {
      self.file = None;
    }
  }

  /// Releases the lock if held and closes the lock file.
  pub fn close(&mut self) {
    self.held = false;
    self.handed_out = false;
    self.file = None;
  }

  /// The held descriptor, for a child process to inherit; `None` when not held. From
  /// then on this hold ends with a close (see `handed_out`).
  #[cfg(unix)]
  pub fn hand_out_fd(&mut self) -> Option<i32> {
    let fd = self.file.as_ref().filter(|_| self.held)?.raw_fd();
    self.handed_out = true;
    Some(fd)
  }
}
