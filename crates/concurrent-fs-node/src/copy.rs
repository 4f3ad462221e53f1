//! `cloneFile`: a file copied into place atomically, reflinked where the filesystem can.
//! Internal to the library (the workspaces' `include` copies); on the libuv threadpool,
//! since a copy that cannot clone is real I/O.

use crate::atomic::durability_of;
use crate::error::{no_panic, to_napi};
use concurrent_fs_core::atomic::Durability;
use concurrent_fs_core::copy::{self, CopyMethod};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::path::PathBuf;

pub struct CloneTask {
  src: PathBuf,
  dest: PathBuf,
  durability: Durability,
}

impl Task for CloneTask {
  type Output = CopyMethod;
  type JsValue = String;

  fn compute(&mut self) -> Result<CopyMethod> {
    no_panic(|| copy::clone_or_copy(&self.src, &self.dest, self.durability).map_err(to_napi))
  }

  fn resolve(&mut self, _env: Env, method: CopyMethod) -> Result<String> {
    Ok(method.name().to_string())
  }
}

/// Resolves to how the content got there: `"reflink"`, `"copy-range"` or `"copy"`.
/// `durability`: 0 none, 1 data, 2 full. Arguments are validated by the caller.
#[napi(
  catch_unwind,
  ts_return_type = "Promise<'reflink' | 'copy-range' | 'copy'>"
)]
pub fn clone_file(src: String, dest: String, durability: u32) -> AsyncTask<CloneTask> {
  AsyncTask::new(CloneTask {
    src: src.into(),
    dest: dest.into(),
    durability: durability_of(durability),
  })
}
