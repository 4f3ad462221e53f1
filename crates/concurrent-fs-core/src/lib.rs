//! The plain-Rust core of `concurrent-fs`: atomic durable writes, cross-process file locks
//! and coordination-free IDs. No Node-API types appear here; the `concurrent-fs-node`
//! crate is a thin binding over this one.

pub mod atomic;
pub mod copy;
pub mod error;
pub mod id;
pub mod lock;
mod sys;
pub mod version;

pub use error::{Error, Result};

#[cfg(test)]
pub(crate) mod test_util;
