//! Work for the libuv threadpool, as `fs.promises` does it: an fsync or a copy is real
//! I/O, and the JS thread must not wait for it.

use napi::bindgen_prelude::{AsyncTask, Env, Error, Result, Task, ToNapiValue, TypeName};
use std::panic::{catch_unwind, AssertUnwindSafe};

type Work<T> = Box<dyn FnOnce() -> Result<T> + Send>;

/// A closure run once on the threadpool; its promise resolves to what it returns.
pub struct Blocking<T> {
  work: Option<Work<T>>,
}

/// `work` as a promise-returning task.
pub fn blocking<T>(work: impl FnOnce() -> Result<T> + Send + 'static) -> AsyncTask<Blocking<T>>
where
  Blocking<T>: Task,
{
  AsyncTask::new(Blocking {
    work: Some(Box::new(work)),
  })
}

impl<T: ToNapiValue + TypeName + Send + 'static> Task for Blocking<T> {
  type Output = T;
  type JsValue = T;

  fn compute(&mut self) -> Result<T> {
    let work = self
      .work
      .take()
      .ok_or_else(|| Error::from_reason("task ran twice"))?;
    no_panic(work)
  }

  fn resolve(&mut self, _env: Env, output: T) -> Result<T> {
    Ok(output)
  }
}

/// Runs a task's work, turning a panic into an error. `#[napi(catch_unwind)]` covers
/// only the synchronous part of an export: napi-rs (3.16) calls `Task::compute` on a
/// libuv thread from an `extern "C"` function, where an unwinding panic aborts the
/// whole process.
fn no_panic<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
  catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| {
    let what = panic
      .downcast_ref::<&str>()
      .map(|s| s.to_string())
      .or_else(|| panic.downcast_ref::<String>().cloned())
      .unwrap_or_default();
    Err(Error::from_reason(format!(
      "concurrent-fs internal error (panic): {what}"
    )))
  })
}
