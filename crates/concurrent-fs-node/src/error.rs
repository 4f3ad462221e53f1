//! Core errors to JavaScript. The structured fields travel as JSON after a `cfs:`
//! prefix in the message; the TypeScript layer rebuilds a Node-style error from them
//! (code, errno, syscall, path, committed), which keeps this crate free of JS objects.

use concurrent_fs_core::Error as CoreError;
use napi::{Error, Status};

pub fn to_napi(err: CoreError) -> Error {
  let path = match &err.path {
    Some(path) => json_string(&path.to_string_lossy()),
    None => "null".to_string(),
  };
  let detail = format!(
    r#"cfs:{{"code":{},"syscall":{},"path":{},"committed":{},"message":{}}}"#,
    json_string(err.code),
    json_string(err.syscall),
    path,
    err.committed,
    json_string(&err.to_string()),
  );
  Error::new(Status::GenericFailure, detail)
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
