//! Errors to JavaScript, through one channel: the message is `cfs:` and a JSON object
//! whose `kind` says what the TypeScript layer (ts/native/errors.ts) rebuilds from it:
//!
//! - `"system"`: an OS failure, as Node's `fs` reports one: `code`, `errno`, `syscall`,
//!   `path` (absent when none), `committed`, `description`, and for `atomicWriteMany`
//!   `written` (the indexes of the entries already renamed into place).
//! - `"id"`: a refusal to mint or read an ID: `code` (`ECLOCKBACKWARDS`,
//!   `ERR_OUT_OF_RANGE`, `ERR_INVALID_ARG_VALUE`), `message`, and for a clock moving
//!   backwards `behindMicros`.
//!
//! JSON in the message keeps this crate free of JS objects. `errno` is the raw OS error,
//! so the TypeScript layer names every errno as Node does, including those the core's
//! table has no name for (`code: "UNKNOWN"`). A handle used after it closed is a
//! system error too (`EBADF`, see atomic.rs). Errors raised by napi-rs itself (an
//! argument of the wrong type) and panics are plain errors, with no `cfs:` prefix.

use concurrent_fs_core::atomic::ManyError;
use concurrent_fs_core::id::IdError;
use concurrent_fs_core::Error as CoreError;
use napi::{Error, Status};
use std::fmt::Display;

/// An OS failure.
pub fn to_napi(err: CoreError) -> Error {
  system(&err).into_error()
}

/// An `atomicWriteMany` failure: the OS failure, and which entries are in place anyway.
pub fn many_to_napi(err: ManyError) -> Error {
  let written: Vec<String> = err.written.iter().map(|i| i.to_string()).collect();
  system(&err.error)
    .value("written", format_args!("[{}]", written.join(",")))
    .into_error()
}

/// An ID error; a mark that could not be written is an OS failure and leaves as one.
pub fn id_to_napi(err: IdError) -> Error {
  if let IdError::MarkNotRecorded {
    code,
    os_error,
    syscall,
    path,
  } = err
  {
    return to_napi(CoreError {
      code,
      os_error,
      syscall,
      path: Some(path),
      committed: false,
    });
  }
  let detail = Detail::new("id")
    .text("code", err.code())
    .text("message", &err.to_string());
  match err {
    IdError::ClockMovedBackwards { behind_micros } => detail.value("behindMicros", behind_micros),
    _ => detail,
  }
  .into_error()
}

fn system(err: &CoreError) -> Detail {
  let detail = Detail::new("system")
    .text("code", err.code)
    .value("errno", err.os_error)
    .text("syscall", err.syscall)
    .value("committed", err.committed)
    .text("description", &err.description());
  match &err.path {
    Some(path) => detail.text("path", &path.to_string_lossy()),
    None => detail,
  }
}

/// A JSON object under construction, one member at a time.
struct Detail {
  json: String,
}

impl Detail {
  fn new(kind: &str) -> Self {
    Detail {
      json: String::from("{"),
    }
    .text("kind", kind)
  }

  /// A string member.
  fn text(mut self, key: &str, value: &str) -> Self {
    self.key(key);
    push_json_string(&mut self.json, value);
    self
  }

  /// A member whose value is already JSON (a number, a boolean, an array of numbers).
  fn value(mut self, key: &str, value: impl Display) -> Self {
    self.key(key);
    self.json.push_str(&value.to_string());
    self
  }

  fn key(&mut self, key: &str) {
    if self.json.len() > 1 {
      self.json.push(',');
    }
    push_json_string(&mut self.json, key);
    self.json.push(':');
  }

  fn into_error(mut self) -> Error {
    self.json.push('}');
    Error::new(Status::GenericFailure, format!("cfs:{}", self.json))
  }
}

fn push_json_string(out: &mut String, text: &str) {
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
}
