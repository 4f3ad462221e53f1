//! `NativeLock`: one OS-level lock on one lock file, for the TypeScript `FileLock`
//! (which adds reentrancy, timeouts errors and AbortSignal on top).
//!
//! `wait` returns a promise settled from the core's waiter thread through a
//! threadsafe deferred: no libuv threadpool thread is held while waiting.

use crate::error::to_napi;
use concurrent_fs_core::lock::{self, LockHandle, LockKind, WaitHandle, WaitOutcome};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::{Arc, Mutex};

/// `wait` resolves to one of these.
const ACQUIRED: u32 = 0;
const TIMED_OUT: u32 = 1;
const CANCELLED: u32 = 2;

type Settle = fn(Env) -> Result<u32>;

#[napi]
pub struct NativeLock {
  /// Shared with the waiter thread, which hands an async wait's lock over to it.
  handle: Arc<Mutex<LockHandle>>,
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
      handle: Arc::new(Mutex::new(LockHandle::new(path.into(), kind))),
      wait: None,
    }
  }

  #[napi(catch_unwind)]
  pub fn try_lock(&mut self) -> Result<bool> {
    self.handle().try_lock().map_err(to_napi)
  }

  /// Blocks this thread; `false` when the timeout (ms, Infinity = none) passed first.
  #[napi(catch_unwind)]
  pub fn lock_sync(&mut self, timeout_ms: f64) -> Result<bool> {
    let timeout = lock::timeout_from_ms(timeout_ms);
    self.handle().lock_blocking(timeout).map_err(to_napi)
  }

  /// Resolves to 0 (acquired), 1 (timed out) or 2 (cancelled).
  #[napi(catch_unwind, ts_return_type = "Promise<number>")]
  pub fn wait<'env>(&mut self, env: &'env Env, timeout_ms: f64) -> Result<Object<'env>> {
    // Everything that could fail comes before the deferred exists: a deferred dropped
    // unsettled leaves a promise that never settles and keeps the process alive.
    let timeout = lock::timeout_from_ms(timeout_ms);
    let (path, kind) = {
      let handle = self.handle();
      (handle.path().to_path_buf(), handle.kind())
    };
    let slot = self.handle.clone();
    let (deferred, promise) = env.create_deferred::<u32, Settle>()?;
    let handle = lock::lock_async(path, kind, timeout, move |outcome| match outcome {
      Ok(WaitOutcome::Acquired(held)) => {
        slot.lock().unwrap_or_else(|e| e.into_inner()).adopt(held);
        deferred.resolve(|_| Ok(ACQUIRED));
      }
      Ok(WaitOutcome::TimedOut) => deferred.resolve(|_| Ok(TIMED_OUT)),
      Ok(WaitOutcome::Cancelled) => deferred.resolve(|_| Ok(CANCELLED)),
      Err(err) => deferred.reject(to_napi(err)),
    });
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

  /// Releases the lock, keeping the lock file open for the next hold (it is closed
  /// when a waiter must be woken by the close; see the core's `lock` docs).
  #[napi(catch_unwind)]
  pub fn release(&mut self) {
    self.wait = None;
    self.handle().release();
  }

  /// Releases the lock if held and closes the lock file.
  #[napi(catch_unwind)]
  pub fn unlock(&mut self) {
    self.wait = None;
    self.handle().close();
  }

  /// Whether the lock file is open (held, or kept between holds).
  #[napi(catch_unwind)]
  pub fn is_open(&self) -> bool {
    self.handle().is_open()
  }

  /// The held lock's descriptor (Unix), for a child process to inherit; `null` when
  /// not held, and on Windows, where a lock cannot be handed over this way. The hold
  /// then ends with a close, which the child's copy outlives.
  #[napi(catch_unwind)]
  pub fn fd(&self) -> Option<i32> {
    #[cfg(unix)]
    {
      self.handle().hand_out_fd()
    }
    #[cfg(not(unix))]
    {
      None
    }
  }

  fn handle(&self) -> std::sync::MutexGuard<'_, LockHandle> {
    self.handle.lock().unwrap_or_else(|e| e.into_inner())
  }
}
