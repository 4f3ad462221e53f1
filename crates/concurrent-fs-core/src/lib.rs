//! The plain-Rust core of `concurrent-fs`: atomic durable writes, cross-process file locks
//! and coordination-free IDs. No Node-API types appear here; the `concurrent-fs-node`
//! crate is a thin binding over this one.

pub mod atomic;
pub mod content_version;
pub mod copy;
mod errno;
pub mod error;
pub mod id;
pub mod lock;

pub use error::{Error, Result};

#[cfg(test)]
pub(crate) mod test_util;
