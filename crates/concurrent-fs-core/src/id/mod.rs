//! Coordination-free IDs: Snowflake-style 63-bit integers and RFC 9562 UUIDv7 strings.
//!
//! - [`layout`]: where time, worker and sequence sit in a 64-bit ID (twitter, sonyflake,
//!   custom), and encoding/decoding between the two.
//! - [`snowflake`]: a generator of strictly increasing IDs for one worker.
//! - [`mark`]: the high-water mark of a leased worker ID, so its IDs never repeat
//!   across holders (the one part of this module that touches a file).
//! - [`uuidv7`]: process-wide strictly increasing UUIDv7 values.
//! - [`worker_id`]: a worker ID derived from the machine, without coordination.
//! - [`clock`]: the time source all of them read, injectable for tests.
//! - `shared`: the state the process's threads share per worker ID and per generator.
//!
//! The lease on a worker ID (an OS lock per ID) is built on the lock module by the
//! TypeScript layer, which then holds the ID's mark here.

pub mod clock;
mod error;
pub mod layout;
pub mod mark;
mod shared;
pub mod snowflake;
pub mod uuidv7;
pub mod worker_id;

pub use error::IdError;
