//! Content versions (XXH3-128 hex) for readVersioned / writeIfVersion.

use napi_derive::napi;

#[napi(catch_unwind)]
pub fn content_version(data: &[u8]) -> String {
  concurrent_fs_core::content_version::content_version(data)
}
