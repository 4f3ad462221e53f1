#![deny(clippy::all)]
//! Node-API binding of concurrent-fs. Thin by design: argument conversion, error
//! mapping and async tasks; the behaviour lives in `concurrent-fs-core`. Every export
//! is `catch_unwind`: a panic becomes a JS error instead of aborting the host process.

mod atomic;
mod content_version;
mod copy;
mod error;
mod id;
mod lock;
