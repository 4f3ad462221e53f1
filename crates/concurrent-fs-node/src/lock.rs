//! One OS-level lock on one lock file, for the TypeScript `FileLock` (which adds
//! reentrancy, timeout errors and AbortSignal on top).
//!
//! Plain functions over an external handle rather than a class: a napi-rs class method
//! costs about twice a plain function's call (measured: ~250 ns against ~110 ns here),
//! and an uncontended lock cycle is two calls. The handle's finalizer (garbage
//! collection, or the environment's teardown) closes the lock file.
//!
//! `lockWait` returns a promise settled from the core's waiter thread through a
//! threadsafe deferred: no libuv threadpool thread is held while waiting.

use crate::error::to_napi;
use concurrent_fs_core::lock::{self, LockHandle, LockKind, WaitHandle, WaitOutcome};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::{Arc, Mutex, MutexGuard};

/// `wait` resolves to one of these.
const ACQUIRED: u32 = 0;
const TIMED_OUT: u32 = 1;
const CANCELLED: u32 = 2;

type Settle = fn(Env) -> Result<u32>;

/// What a `FileLock` holds on to.
pub struct LockObject {
  /// Shared with the waiter thread, which hands an async wait's lock over to it.
  handle: Arc<Mutex<LockHandle>>,
  wait: Mutex<Option<WaitHandle>>,
}

impl LockObject {
  fn handle(&self) -> MutexGuard<'_, LockHandle> {
    self.handle.lock().unwrap_or_else(|e| e.into_inner())
  }

  fn set_wait(&self, wait: Option<WaitHandle>) -> Option<WaitHandle> {
    std::mem::replace(
      &mut *self.wait.lock().unwrap_or_else(|e| e.into_inner()),
      wait,
    )
  }
}

/// A lock on `path`, not held. No I/O: the lock file is opened by the first attempt.
#[napi(catch_unwind, ts_return_type = "ExternalObject<'LockObject'>")]
pub fn lock_open(path: String, shared: bool) -> External<LockObject> {
  let kind = if shared {
    LockKind::Shared
  } else {
    LockKind::Exclusive
  };
  External::new(LockObject {
    handle: Arc::new(Mutex::new(LockHandle::new(path.into(), kind))),
    wait: Mutex::new(None),
  })
}

/// Takes the lock if it is free now.
#[napi(catch_unwind, ts_args_type = "lock: ExternalObject<'LockObject'>")]
pub fn lock_try(lock: &External<LockObject>) -> Result<bool> {
  lock.handle().try_lock().map_err(to_napi)
}

/// Blocks this thread; `false` when the timeout (ms, Infinity = none) passed first.
#[napi(
  catch_unwind,
  ts_args_type = "lock: ExternalObject<'LockObject'>, timeoutMs: number"
)]
pub fn lock_sync(lock: &External<LockObject>, timeout_ms: f64) -> Result<bool> {
  let timeout = lock::timeout_from_ms(timeout_ms);
  lock.handle().lock_blocking(timeout).map_err(to_napi)
}

/// Resolves to 0 (acquired), 1 (timed out) or 2 (cancelled).
#[napi(
  catch_unwind,
  ts_args_type = "lock: ExternalObject<'LockObject'>, timeoutMs: number",
  ts_return_type = "Promise<number>"
)]
pub fn lock_wait<'env>(
  env: &'env Env,
  lock: &External<LockObject>,
  timeout_ms: f64,
) -> Result<Object<'env>> {
  // Everything that could fail comes before the deferred exists: a deferred dropped
  // unsettled leaves a promise that never settles and keeps the process alive.
  let timeout = lock::timeout_from_ms(timeout_ms);
  let (path, kind) = {
    let handle = lock.handle();
    (handle.path().to_path_buf(), handle.kind())
  };
  let slot = lock.handle.clone();
  let (deferred, promise) = env.create_deferred::<u32, Settle>()?;
  let wait = lock::lock_async(path, kind, timeout, move |outcome| match outcome {
    Ok(WaitOutcome::Acquired(held)) => {
      slot.lock().unwrap_or_else(|e| e.into_inner()).adopt(held);
      deferred.resolve(|_| Ok(ACQUIRED));
    }
    Ok(WaitOutcome::TimedOut) => deferred.resolve(|_| Ok(TIMED_OUT)),
    Ok(WaitOutcome::Cancelled) => deferred.resolve(|_| Ok(CANCELLED)),
    Err(err) => deferred.reject(to_napi(err)),
  });
  lock.set_wait(Some(wait));
  Ok(promise)
}

/// Ends a pending `lockWait` (its promise resolves to 2, or to 0 if the lock won the race).
#[napi(catch_unwind, ts_args_type = "lock: ExternalObject<'LockObject'>")]
pub fn lock_cancel(lock: &External<LockObject>) {
  if let Some(wait) = lock.set_wait(None) {
    wait.cancel();
  }
}

/// Releases the lock, keeping the lock file open for the next hold (it is closed when
/// a waiter must be woken by the close; see the core's `lock` docs).
#[napi(catch_unwind, ts_args_type = "lock: ExternalObject<'LockObject'>")]
pub fn lock_release(lock: &External<LockObject>) {
  lock.handle().release();
}

/// Releases the lock if held and closes the lock file.
#[napi(catch_unwind, ts_args_type = "lock: ExternalObject<'LockObject'>")]
pub fn lock_close(lock: &External<LockObject>) {
  lock.set_wait(None);
  lock.handle().close();
}

/// The held lock's descriptor (Unix), for a child process to inherit; `null` when not
/// held, and on Windows, where a lock cannot be handed over this way. The hold then
/// ends with a close, which the child's copy outlives.
#[napi(catch_unwind, ts_args_type = "lock: ExternalObject<'LockObject'>")]
pub fn lock_fd(lock: &External<LockObject>) -> Option<i32> {
  #[cfg(unix)]
  {
    lock.handle().hand_out_fd()
  }
  #[cfg(not(unix))]
  {
    let _ = lock;
    None
  }
}
