//! `cloneFile`: a file copied into place atomically, reflinked where the filesystem can.
//! Internal to the library (the workspaces' `include` copies); on the libuv threadpool,
//! since a copy that cannot clone is real I/O. Arguments are validated by the caller.

use crate::atomic::Durability;
use crate::error::to_napi;
use crate::task::{blocking, Blocking};
use concurrent_fs_core::copy;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::path::PathBuf;

/// How the content got into the copy.
#[napi(string_enum = "kebab-case")]
pub enum CopyMethod {
  /// The copy shares the source's blocks (copy-on-write): no data was copied.
  Reflink,
  /// Copied in the kernel (`copy_file_range`), which some filesystems turn into a
  /// clone or a server-side copy.
  CopyRange,
  /// Read and written through user space (or by the OS's own copy routine).
  Copy,
}

impl From<copy::CopyMethod> for CopyMethod {
  fn from(method: copy::CopyMethod) -> Self {
    match method {
      copy::CopyMethod::Reflink => CopyMethod::Reflink,
      copy::CopyMethod::CopyRange => CopyMethod::CopyRange,
      copy::CopyMethod::Copy => CopyMethod::Copy,
    }
  }
}

#[napi(catch_unwind, ts_return_type = "Promise<CopyMethod>")]
pub fn clone_file(
  src: String,
  dest: String,
  durability: Durability,
) -> AsyncTask<Blocking<CopyMethod>> {
  let (src, dest) = (PathBuf::from(src), PathBuf::from(dest));
  blocking(move || {
    copy::clone_or_copy(&src, &dest, durability.into())
      .map(CopyMethod::from)
      .map_err(to_napi)
  })
}
