#![deny(clippy::all)]
// A test build has no napi registrations, so every export looks unused there.
#![cfg_attr(test, allow(dead_code))]
//! Node-API binding of concurrent-fs. Thin by design: argument conversion, error
//! mapping and async tasks; the behaviour lives in `concurrent-fs-core`. Every export
//! is `catch_unwind`: a panic becomes a JS error instead of aborting the host process.
//!
//! What crosses the boundary is typed: choices are string enums (`#[napi(string_enum)]`,
//! the same strings the TypeScript layer uses) and option bags are objects
//! (`#[napi(object)]`) whose optional fields document their defaults. Conversions that
//! only make sense in JavaScript (a timeout in ms with `Infinity` for none) happen here,
//! never in the core. Errors leave through one channel (error.rs).

mod atomic;
mod content_version;
mod copy;
mod error;
mod id;
mod lock;
mod task;
