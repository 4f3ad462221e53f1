//! Core errors to JavaScript. The structured fields travel as JSON after a `cfs:`
//! prefix in the message; the TypeScript layer rebuilds a Node-style error from them
//! (code, errno, syscall, path, committed), which keeps this crate free of JS objects.
//! `errno` is the raw OS error, so the TypeScript layer names every errno as Node does,
//! including those the core's table has no name for (`code: "UNKNOWN"`).

use concurrent_fs_core::Error as CoreError;
use napi::{Error, Result, Status};
use std::panic::{catch_unwind, AssertUnwindSafe};

pub fn to_napi(err: CoreError) -> Error {
  let path = match &err.path {
    Some(path) => json_string(&path.to_string_lossy()),
    None => "null".to_string(),
  };
  let detail = format!(
    r#"cfs:{{"code":{},"errno":{},"syscall":{},"path":{},"committed":{},"description":{},"message":{}}}"#,
    json_string(err.code),
    err.os_error,
    json_string(err.syscall),
    path,
    err.committed,
    json_string(&err.description()),
    json_string(&err.to_string()),
  );
  Error::new(Status::GenericFailure, detail)
}

/// Runs an async task's work, turning a panic into an error. `#[napi(catch_unwind)]`
/// covers only the synchronous part of an export: napi-rs (3.16) calls `Task::compute`
/// on a libuv thread from an `extern "C"` function, where an unwinding panic aborts the
/// whole process.
pub fn no_panic<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
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

fn json_string(text: &str) -> String {
  let mut out = String::with_capacity(text.len() + 2);
  out.push('"');
  for c in text.chars() {
    match c {
      '"' => out.push_str("\\\""),
      '\\' => out.push_str("\\\\"),
      c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
      c => out.push(c),
    }
  }
  out.push('"');
  out
}
