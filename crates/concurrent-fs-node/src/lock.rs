//! One OS-level lock on one lock file, for the TypeScript `FileLock` (which adds
//! reentrancy, timeout errors and AbortSignal on top).
//!
//! Plain functions over an external handle rather than a class: a napi-rs class method
//! costs about twice a plain function's call (measured: ~250 ns against ~110 ns here),
//! and an uncontended lock cycle is two calls. The handle's finalizer (garbage
//! collection, or the environment's teardown) closes the lock file.
//!
//! The lock policy (try first, a zero timeout is one try, else wait) is the core's
//! `LockHandle::acquire`; this binding only converts its answer. `lockAcquire` returns
//! a boolean when the acquire settled at once, and only when it waits a promise,
//! settled from the core's waiter thread through a threadsafe deferred: no libuv
//! threadpool thread is held while waiting.

use crate::error::to_napi;
use concurrent_fs_core::lock::{self, Acquire, LockHandle, WaitHandle};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Which lock a `FileLock` takes (its `shared` option).
#[napi(string_enum = "lowercase")]
pub enum LockKind {
  /// Excludes exclusive locks only; any number of shared holders coexist.
  Shared,
  /// Excludes every other lock.
  Exclusive,
}

impl From<LockKind> for lock::LockKind {
  fn from(kind: LockKind) -> Self {
    match kind {
      LockKind::Shared => lock::LockKind::Shared,
      LockKind::Exclusive => lock::LockKind::Exclusive,
    }
  }
}

/// How a `lockAcquire` that waited ended.
#[napi(string_enum = "kebab-case")]
pub enum WaitOutcome {
  /// The lock is held.
  Acquired,
  /// The timeout passed first.
  TimedOut,
  /// `lockCancel` (or `lockClose`) ended the wait first.
  Cancelled,
}

type Settle = fn(Env) -> Result<WaitOutcome>;

/// A JavaScript timeout in ms as the core's: `None` waits forever. `Infinity` is
/// forever, and so is a finite timeout too long for a Duration (over ~584 billion
/// years): it must not panic (`Duration::from_secs_f64` would).
fn timeout_from_ms(ms: f64) -> Option<Duration> {
  if ms.is_finite() && ms >= 0.0 {
    Duration::try_from_secs_f64(ms / 1000.0).ok()
  } else {
    None
  }
}

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
pub fn lock_open(path: String, kind: LockKind) -> External<LockObject> {
  External::new(LockObject {
    handle: Arc::new(Mutex::new(LockHandle::new(path.into(), kind.into()))),
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
  let timeout = timeout_from_ms(timeout_ms);
  lock.handle().lock_blocking(timeout).map_err(to_napi)
}

/// Takes the lock, waiting up to the timeout (ms, Infinity = none; 0 = one try):
/// `true`/`false` when decided at once (taken, or busy with a zero timeout), else a
/// promise of how the wait on the core's waiter thread ended.
#[napi(
  catch_unwind,
  ts_args_type = "lock: ExternalObject<'LockObject'>, timeoutMs: number",
  ts_return_type = "boolean | Promise<WaitOutcome>"
)]
pub fn lock_acquire<'env>(
  env: &'env Env,
  lock: &External<LockObject>,
  timeout_ms: f64,
) -> Result<Either<bool, Object<'env>>> {
  let acquired = lock
    .handle()
    .acquire(timeout_from_ms(timeout_ms))
    .map_err(to_napi)?;
  let wait = match acquired {
    Acquire::Settled(held) => return Ok(Either::A(held)),
    Acquire::Waiting(wait) => wait,
  };
  // Nothing may fail once the deferred exists: a deferred dropped unsettled leaves a
  // promise that never settles and keeps the process alive.
  let (deferred, promise) = env.create_deferred::<WaitOutcome, Settle>()?;
  let slot = lock.handle.clone();
  let wait = wait.submit(move |outcome| match outcome {
    Ok(lock::WaitOutcome::Acquired(held)) => {
      slot.lock().unwrap_or_else(|e| e.into_inner()).adopt(held);
      deferred.resolve(|_| Ok(WaitOutcome::Acquired));
    }
    Ok(lock::WaitOutcome::TimedOut) => deferred.resolve(|_| Ok(WaitOutcome::TimedOut)),
    Ok(lock::WaitOutcome::Cancelled) => deferred.resolve(|_| Ok(WaitOutcome::Cancelled)),
    Err(err) => deferred.reject(to_napi(err)),
  });
  lock.set_wait(Some(wait));
  Ok(Either::B(promise))
}

/// Ends a pending `lockAcquire` wait (its promise resolves to `'cancelled'`, or to `'acquired'`
/// if the lock won the race).
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

#[cfg(test)]
mod tests {
  use super::*;

  // Runs with `cargo test -p concurrent-fs-node --lib` (the crate is `test = false`,
  // so `cargo test --workspace` skips it).
  #[test]
  fn timeouts_convert_from_js_milliseconds() {
    assert_eq!(timeout_from_ms(f64::INFINITY), None);
    assert_eq!(timeout_from_ms(0.0), Some(Duration::ZERO));
    assert_eq!(timeout_from_ms(1500.0), Some(Duration::from_millis(1500)));
    // Valid JS timeouts beyond what a Duration holds: forever, not a panic.
    assert_eq!(timeout_from_ms(1e300), None);
    assert_eq!(timeout_from_ms(f64::MAX), None);
  }
}
