//! A Snowflake generator: strictly increasing 63-bit IDs for one worker.
//!
//! Each ID is (time since the epoch, worker, sequence). Within one time unit the
//! sequence counts up; when it runs out, the generator waits for the next unit. The
//! rules that keep IDs unique, each learned from a peer's bug:
//!
//! - Read the clock and compare it with the last issued time *before* touching the
//!   sequence (twitter-archive/snowflake#6 reset the sequence first and repeated IDs
//!   after a backwards step).
//! - Reset the sequence every new unit and never wrap it inside one (a counter that
//!   wraps without a time check repeats above 4096 IDs/ms, sapphiredev/utilities#154).
//! - A clock behind the last issued time is never followed: the generator waits for it
//!   (bounded) or throws, per [`ClockBackwards`].
//! - Waits sleep, and spin only their last few dozen microseconds
//!   ([`super::clock::sleep_then_spin`]).
//! - Generators on one worker ID, epoch and layout in one process share one sequence
//!   ([`Snowflake::shared`]), and the ID's lease marks bound them across holders
//!   ([`super::mark`]).

use super::clock::{Clock, SystemClock};
use super::layout::{Layout, Parts};
use super::mark::{self, WorkerMarks};
use super::shared::{lock, shared, Registry};
use super::IdError;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// How far before the epoch the clock may read and still count as the epoch itself. An
/// epoch of "now" is checked against the wall clock in whole milliseconds (JavaScript's
/// `Date.now()`), so the process clock, in microseconds, can read a fraction of that
/// millisecond before it; that is rounding, not an epoch in the future.
const EPOCH_SLACK_MICROS: i64 = 1000;

/// What to do when the clock reads earlier than the last issued timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockBackwards {
  /// Wait until the clock catches up, if that takes at most `max`; otherwise fail
  /// at once (waiting out a clock that jumped back an hour helps nobody).
  Wait { max: Duration },
  /// Fail at once.
  Throw,
}

impl ClockBackwards {
  /// NTP steps and leap-second smears are well under a second.
  pub const DEFAULT_WAIT: ClockBackwards = ClockBackwards::Wait {
    max: Duration::from_secs(1),
  };
}

#[derive(Clone, Copy, Debug)]
pub struct Config {
  pub layout: Layout,
  pub worker_id: u64,
  /// Milliseconds since the Unix epoch at which the time field is zero.
  pub epoch_ms: i64,
  pub clock_backwards: ClockBackwards,
}

/// How many IDs a batch mints per clock read, at most.
pub const BATCH_CLOCK_READ_EVERY: usize = 256;

/// Where a worker's sequence stands: shared by every generator with the same worker ID,
/// epoch and layout in the process ([`Snowflake::shared`]), so they never repeat each
/// other.
#[derive(Debug)]
pub struct Sequence {
  /// Time unit of the last issued ID; -1 before the first.
  last_unit: i64,
  sequence: u64,
}

impl Default for Sequence {
  fn default() -> Self {
    Sequence {
      last_unit: -1,
      sequence: 0,
    }
  }
}

pub struct Snowflake<C: Clock = SystemClock> {
  layout: Layout,
  worker: u64,
  epoch_ms: i64,
  epoch_micros: i64,
  unit_micros: i64,
  policy: ClockBackwards,
  clock: C,
  state: Arc<Mutex<Sequence>>,
  /// The high-water marks of the leases held on this worker ID.
  marks: Arc<Mutex<WorkerMarks>>,
}

impl Snowflake<SystemClock> {
  pub fn new(config: Config) -> Result<Self, IdError> {
    Snowflake::with_clock(config, SystemClock)
  }
}

impl<C: Clock> Snowflake<C> {
  /// A generator with a sequence of its own, outside every lease.
  pub fn with_clock(config: Config, clock: C) -> Result<Self, IdError> {
    let marks = Arc::new(Mutex::new(WorkerMarks::default()));
    Snowflake::with_state(config, clock, Arc::default(), marks)
  }

  /// A generator sharing its sequence with every other shared one of the same worker
  /// ID, epoch and layout in this process (any thread), honouring and renewing the
  /// high-water marks of the leases held on its worker ID ([`super::mark`]).
  pub fn shared(config: Config, clock: C) -> Result<Self, IdError> {
    let state = shared_sequence(config.worker_id, config.epoch_ms, config.layout);
    let marks = mark::worker_marks(config.worker_id);
    Snowflake::with_state(config, clock, state, marks)
  }

  fn with_state(
    config: Config,
    clock: C,
    state: Arc<Mutex<Sequence>>,
    marks: Arc<Mutex<WorkerMarks>>,
  ) -> Result<Self, IdError> {
    let layout = config.layout;
    layout.validate()?;
    if config.worker_id > layout.max_worker() {
      return Err(IdError::WorkerOutOfRange {
        worker: config.worker_id,
        max: layout.max_worker(),
      });
    }
    let generator = Snowflake {
      layout,
      worker: config.worker_id,
      epoch_ms: config.epoch_ms,
      epoch_micros: config.epoch_ms.saturating_mul(1000),
      unit_micros: layout.time_unit_ms as i64 * 1000,
      policy: config.clock_backwards,
      clock,
      state,
      marks,
    };
    // Fail at construction, not at the first ID, if the epoch or layout cannot work now.
    generator.current_unit()?;
    Ok(generator)
  }

  pub fn layout(&self) -> &Layout {
    &self.layout
  }

  pub fn clock_mut(&mut self) -> &mut C {
    &mut self.clock
  }

  pub fn next_id(&mut self) -> Result<u64, IdError> {
    let mut state = lock(&self.state);
    let mut marks = lock(&self.marks);
    self.next_locked(&mut state, &mut marks)
  }

  /// Fills `out` with consecutive IDs. On an error the IDs already written are valid
  /// and unique; the rest of `out` is untouched.
  ///
  /// The clock is read once per [`BATCH_CLOCK_READ_EVERY`] IDs (and at every new time
  /// unit) rather than per ID: a clock read costs several times as much as minting an ID,
  /// and a few hundred IDs take well under a microsecond, so every ID still carries the
  /// unit it was minted in, give or take that microsecond.
  pub fn next_batch(&mut self, out: &mut [u64]) -> Result<(), IdError> {
    for chunk in out.chunks_mut(BATCH_CLOCK_READ_EVERY) {
      let mut filled = 0;
      while filled < chunk.len() {
        filled += self.fill_current_unit(&mut chunk[filled..])?;
      }
    }
    Ok(())
  }

  /// Fills the front of `out` with consecutive IDs that all carry the current time
  /// unit, and returns how many (at least one, at most the unit's remaining sequence
  /// numbers). For a caller that caches IDs and hands them out only while this unit
  /// lasts: only the first ID reads the clock, so the rest cost a few nanoseconds.
  pub fn fill_current_unit(&mut self, out: &mut [u64]) -> Result<usize, IdError> {
    let Some((first, rest)) = out.split_first_mut() else {
      return Ok(0);
    };
    let mut state = lock(&self.state);
    let mut marks = lock(&self.marks);
    *first = self.next_locked(&mut state, &mut marks)?;
    let room = (self.layout.max_sequence() - state.sequence).min(rest.len() as u64) as usize;
    for slot in &mut rest[..room] {
      state.sequence += 1;
      *slot = self.encode(&state);
    }
    Ok(1 + room)
  }

  /// The clock's reading, in µs since the Unix epoch (for callers that track deadlines
  /// of cached IDs on a clock of their own).
  pub fn clock_micros(&self) -> i64 {
    self.clock.now_micros()
  }

  /// The fields of an ID made with this generator's layout.
  pub fn parse(&self, id: u64) -> Result<Parts, IdError> {
    self.layout.decode(id)
  }

  /// The core of every ID: the clock is compared with the last issued unit *before*
  /// the sequence is touched, and the marks are renewed before the ID is handed out.
  fn next_locked(&self, state: &mut Sequence, marks: &mut WorkerMarks) -> Result<u64, IdError> {
    self.honour_floor(state, marks);
    let mut unit = self.current_unit()?;
    if unit < state.last_unit {
      unit = self.follow_backwards_clock(state.last_unit)?;
    }
    if unit > state.last_unit {
      state.last_unit = unit;
      state.sequence = 0;
    } else if state.sequence < self.layout.max_sequence() {
      state.sequence += 1;
    } else {
      state.last_unit = self.wait_for_unit(state.last_unit + 1)?;
      state.sequence = 0;
    }
    let now_ms = self.clock.now_micros().div_euclid(1000);
    marks.cover(self.unit_end_ms(state.last_unit), now_ms)?;
    Ok(self.encode(state))
  }

  /// A lease's floor (the last millisecond an earlier holder of the worker ID may have
  /// used) counts as issued: the next ID goes to a later unit, which a unit at or
  /// before the floor's can only be if the sequence there is used up.
  fn honour_floor(&self, state: &mut Sequence, marks: &WorkerMarks) {
    let Some(floor_ms) = marks.floor_ms() else {
      return;
    };
    let floor_unit = floor_ms
      .saturating_sub(self.epoch_ms)
      .div_euclid(self.unit_micros / 1000);
    if floor_unit >= state.last_unit {
      state.last_unit = floor_unit;
      state.sequence = self.layout.max_sequence();
    }
  }

  /// The last Unix millisecond of time unit `unit`.
  fn unit_end_ms(&self, unit: i64) -> i64 {
    let unit_ms = self.unit_micros / 1000;
    self
      .epoch_ms
      .saturating_add(unit.saturating_add(1).saturating_mul(unit_ms))
      - 1
  }

  fn encode(&self, state: &Sequence) -> u64 {
    self.layout.encode(Parts {
      time: state.last_unit as u64,
      worker: self.worker,
      sequence: state.sequence,
    })
  }

  /// Time units since the epoch, now.
  fn current_unit(&self) -> Result<i64, IdError> {
    Ok(self.elapsed_micros()? / self.unit_micros)
  }

  fn elapsed_micros(&self) -> Result<i64, IdError> {
    let elapsed = self.clock.now_micros().saturating_sub(self.epoch_micros);
    if elapsed < -EPOCH_SLACK_MICROS {
      return Err(IdError::BeforeEpoch);
    }
    let elapsed = elapsed.max(0);
    if (elapsed / self.unit_micros) as u64 > self.layout.max_time() {
      return Err(IdError::TimeOverflow {
        time_bits: self.layout.time_bits,
      });
    }
    Ok(elapsed)
  }

  /// The clock reads a unit before the last issued one: throw, or wait for it to get
  /// back to that unit (the sequence then simply continues there).
  fn follow_backwards_clock(&self, last_unit: i64) -> Result<i64, IdError> {
    if self.policy == ClockBackwards::Throw {
      let behind = last_unit * self.unit_micros - self.elapsed_micros()?;
      return Err(backwards(behind.max(1)));
    }
    self.wait_for_unit(last_unit)
  }

  /// Waits until the clock reaches time unit `target` and returns the unit it reads.
  /// Reaching the next unit takes at most one unit; a longer wait means the clock is
  /// behind what was already issued, which the policy bounds.
  fn wait_for_unit(&self, target: i64) -> Result<i64, IdError> {
    loop {
      let now = self.elapsed_micros()?;
      let unit = now / self.unit_micros;
      if unit >= target {
        return Ok(unit);
      }
      let remaining = target * self.unit_micros - now;
      let behind = remaining - self.unit_micros;
      if behind > 0 {
        match self.policy {
          ClockBackwards::Throw => return Err(backwards(behind)),
          ClockBackwards::Wait { max } if behind > max.as_micros() as i64 => {
            return Err(backwards(behind))
          }
          ClockBackwards::Wait { .. } => {}
        }
      }
      self.clock.pause(Duration::from_micros(remaining as u64));
    }
  }
}

type SequenceKey = (u64, i64, Layout);

/// The process-wide sequence of (worker ID, epoch, layout).
fn shared_sequence(worker: u64, epoch_ms: i64, layout: Layout) -> Arc<Mutex<Sequence>> {
  static SEQUENCES: Registry<SequenceKey, Sequence> = OnceLock::new();
  shared(&SEQUENCES, (worker, epoch_ms, layout))
}

fn backwards(behind_micros: i64) -> IdError {
  IdError::ClockMovedBackwards {
    behind_micros: behind_micros as u64,
  }
}

#[cfg(test)]
mod tests;
