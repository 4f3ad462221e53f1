//! What can go wrong when minting or reading an ID. None of it is an OS failure, so it
//! has its own type instead of [`crate::Error`]; [`IdError::code`] gives the name the
//! JavaScript layer throws.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdError {
  /// A layout with a zero-width field, over 63 bits, or a zero time unit.
  InvalidLayout(String),
  /// A worker ID that does not fit the layout's worker field.
  WorkerOutOfRange { worker: u64, max: u64 },
  /// The clock is behind the last issued timestamp by more than the policy allows.
  ClockMovedBackwards { behind_micros: u64 },
  /// The clock reads earlier than the generator's epoch.
  BeforeEpoch,
  /// The time since the epoch no longer fits the layout's time field.
  TimeOverflow { time_bits: u32 },
  /// An ID with bits set above the layout's width.
  IdOutOfRange { bits: u32 },
  /// A string that is not a UUID of version 7 and variant 10.
  NotUuidV7,
  /// The worker ID's high-water mark could not be renewed, so no ID may be minted past
  /// its reservation (see [`super::mark`]). The fields are those of [`crate::Error`].
  MarkNotRecorded {
    code: &'static str,
    os_error: i32,
    syscall: &'static str,
    path: std::path::PathBuf,
  },
}

impl From<crate::Error> for IdError {
  fn from(err: crate::Error) -> Self {
    IdError::MarkNotRecorded {
      code: err.code,
      os_error: err.os_error,
      syscall: err.syscall,
      path: err.path.unwrap_or_default(),
    }
  }
}

impl IdError {
  /// The error code JavaScript sees: Node's argument codes where the cause is an input,
  /// `ECLOCKBACKWARDS` for a clock the generator refuses to follow.
  pub fn code(&self) -> &'static str {
    match self {
      IdError::ClockMovedBackwards { .. } => "ECLOCKBACKWARDS",
      IdError::NotUuidV7 => "ERR_INVALID_ARG_VALUE",
      IdError::MarkNotRecorded { code, .. } => code,
      _ => "ERR_OUT_OF_RANGE",
    }
  }
}

impl fmt::Display for IdError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      IdError::InvalidLayout(why) => write!(f, "invalid ID layout: {why}"),
      IdError::WorkerOutOfRange { worker, max } => {
        write!(f, "worker ID {worker} does not fit the layout (0..={max})")
      }
      IdError::ClockMovedBackwards { behind_micros } => write!(
        f,
        "the clock moved backwards by {:.3} ms; refusing to mint IDs that could repeat",
        *behind_micros as f64 / 1000.0
      ),
      IdError::BeforeEpoch => write!(f, "the clock reads earlier than the ID epoch"),
      IdError::TimeOverflow { time_bits } => write!(
        f,
        "the time since the epoch no longer fits the layout's {time_bits} time bits"
      ),
      IdError::IdOutOfRange { bits } => write!(f, "the ID does not fit the layout's {bits} bits"),
      IdError::NotUuidV7 => write!(f, "not a UUIDv7 (RFC 9562 version 7, variant 10)"),
      IdError::MarkNotRecorded {
        code,
        syscall,
        path,
        ..
      } => write!(
        f,
        "{code}: could not record the worker ID's high-water mark, {syscall} '{}'",
        path.display()
      ),
    }
  }
}

impl std::error::Error for IdError {}
