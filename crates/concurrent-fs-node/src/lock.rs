//! `NativeLock`: one OS-level lock on one lock file, for the TypeScript `FileLock`
//! (which adds reentrancy, timeouts errors and AbortSignal on top).
//!
//! `wait` returns a promise settled from the core's waiter thread through a
//! threadsafe deferred: no libuv threadpool thread is held while waiting.

use crate::error::to_napi;
use concurrent_fs_core::lock::{self, HeldLock, LockKind, WaitHandle, WaitOutcome};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// `wait` resolves to one of these.
const ACQUIRED: u32 = 0;
const TIMED_OUT: u32 = 1;
const CANCELLED: u32 = 2;

type Settle = fn(Env) -> Result<u32>;

#[napi]
pub struct NativeLock {
  path: PathBuf,
  kind: LockKind,
  /// Filled on the waiter thread when an async wait succeeds, hence shared.
  held: Arc<Mutex<Option<HeldLock>>>,
  wait: Option<WaitHandle>,
}

#[napi]
impl NativeLock {
  /// No I/O: the lock file is opened by the first attempt.
  #[napi(constructor, catch_unwind)]
  pub fn new(path: String, shared: bool) -> Self {
    let kind = if shared {
      LockKind::Shared
    } else {
      LockKind::Exclusive
    };
    NativeLock {
      path: path.into(),
      kind,
      held: Arc::default(),
      wait: None,
    }
  }

  #[napi(catch_unwind)]
  pub fn try_lock(&mut self) -> Result<bool> {
    let held = lock::try_lock(&self.path, self.kind).map_err(to_napi)?;
    Ok(self.keep(held))
  }

  /// Blocks this thread; `false` when the timeout (ms, Infinity = none) passed first.
  #[napi(catch_unwind)]
  pub fn lock_sync(&mut self, timeout_ms: f64) -> Result<bool> {
    let timeout = lock::timeout_from_ms(timeout_ms);
    let held = lock::lock_blocking(&self.path, self.kind, timeout).map_err(to_napi)?;
    Ok(self.keep(held))
  }

  /// Resolves to 0 (acquired), 1 (timed out) or 2 (cancelled).
  #[napi(catch_unwind, ts_return_type = "Promise<number>")]
  pub fn wait<'env>(&mut self, env: &'env Env, timeout_ms: f64) -> Result<Object<'env>> {
    // Everything that could fail comes before the deferred exists: a deferred dropped
    // unsettled leaves a promise that never settles and keeps the process alive.
    let timeout = lock::timeout_from_ms(timeout_ms);
    let slot = self.held.clone();
    let (deferred, promise) = env.create_deferred::<u32, Settle>()?;
    let handle =
      lock::lock_async(
        self.path.clone(),
        self.kind,
        timeout,
        move |outcome| match outcome {
          Ok(WaitOutcome::Acquired(held)) => {
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(held);
            deferred.resolve(|_| Ok(ACQUIRED));
          }
          Ok(WaitOutcome::TimedOut) => deferred.resolve(|_| Ok(TIMED_OUT)),
          Ok(WaitOutcome::Cancelled) => deferred.resolve(|_| Ok(CANCELLED)),
          Err(err) => deferred.reject(to_napi(err)),
        },
      );
    self.wait = Some(handle);
    Ok(promise)
  }

  /// Ends a pending `wait` (its promise resolves to 2, or to 0 if the lock won the race).
  #[napi(catch_unwind)]
  pub fn cancel(&mut self) {
    if let Some(wait) = self.wait.take() {
      wait.cancel();
    }
  }

  /// Closes the lock file, which releases the lock.
  #[napi(catch_unwind)]
  pub fn unlock(&mut self) {
    self.wait = None;
    self.held.lock().unwrap_or_else(|e| e.into_inner()).take();
  }

  /// The held lock's descriptor (Unix), for a child process to inherit; `null` when
  /// not held, and on Windows, where a lock cannot be handed over this way.
  #[napi(catch_unwind)]
  pub fn fd(&self) -> Option<i32> {
    let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
    #[cfg(unix)]
    {
      held.as_ref().map(HeldLock::raw_fd)
    }
    #[cfg(not(unix))]
    {
      drop(held);
      None
    }
  }

  fn keep(&mut self, held: Option<HeldLock>) -> bool {
    let acquired = held.is_some();
    if acquired {
      *self.held.lock().unwrap_or_else(|e| e.into_inner()) = held;
    }
    acquired
  }
}
