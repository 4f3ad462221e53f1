//! The time source of the ID generators, and how they wait for it.
//!
//! IDs need time that never runs backwards inside a process, yet reads like the wall
//! clock so that the timestamp in an ID means something. [`SystemClock`] does both: it
//! reads the wall clock once per process and adds the monotonic clock's elapsed time to
//! it, so an NTP step of the wall clock while the process runs changes nothing
//! (bwmarrin/snowflake#20). The generators still compare every reading with the last
//! timestamp they issued and never trust the clock to be monotonic: clocks are
//! injectable ([`Clock`]), and [`ShiftedClock`] exists precisely to step time back.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of time for the generators.
pub trait Clock {
  /// Microseconds since the Unix epoch.
  fn now_micros(&self) -> i64;

  /// Called in a loop while waiting for the clock to reach a later value; `remaining`
  /// is how far away that value is. A test clock advances itself here.
  fn pause(&self, remaining: Duration) {
    sleep_then_spin(remaining);
  }
}

/// The process clock: the wall clock at first use plus monotonic time since then.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
  fn now_micros(&self) -> i64 {
    process_micros()
  }
}

/// The process clock moved by an adjustable offset. The JavaScript test hook uses it to
/// step a live generator's clock backwards; with offset 0 it is [`SystemClock`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ShiftedClock {
  pub offset_micros: i64,
}

impl Clock for ShiftedClock {
  fn now_micros(&self) -> i64 {
    process_micros().saturating_add(self.offset_micros)
  }
}

/// Every generator in the process shares one anchor, so they agree on the time.
pub fn process_micros() -> i64 {
  static ANCHOR: OnceLock<(i64, Instant)> = OnceLock::new();
  let (wall, start) = ANCHOR.get_or_init(read_anchor);
  wall.saturating_add(start.elapsed().as_micros() as i64)
}

/// A wall-clock read whose monotonic reads on either side are this close is taken.
const TIGHT_ANCHOR: Duration = Duration::from_micros(20);
/// Reads tried for a tight one before the tightest seen is taken.
const ANCHOR_TRIES: usize = 16;

/// The wall clock and the monotonic instant of the same moment: the wall clock read
/// between two monotonic reads, anchored at their middle. A thread preempted between
/// them (a busy machine) would leave the clock behind the wall clock by as long, for the
/// life of the process, so a wide pair is read again.
fn read_anchor() -> (i64, Instant) {
  let mut best: Option<(i64, Instant, Duration)> = None;
  for _ in 0..ANCHOR_TRIES {
    let before = Instant::now();
    let wall = wall_micros();
    let span = before.elapsed();
    if best.is_none_or(|(_, _, tightest)| span < tightest) {
      best = Some((wall, before + span / 2, span));
    }
    if span <= TIGHT_ANCHOR {
      break;
    }
  }
  let (wall, at, _) = best.expect("ANCHOR_TRIES is not zero");
  (wall, at)
}

fn wall_micros() -> i64 {
  match SystemTime::now().duration_since(UNIX_EPOCH) {
    Ok(since) => since.as_micros() as i64,
    Err(before) => -(before.duration().as_micros() as i64),
  }
}

/// `thread::sleep` wakes late: on a Linux box measured here by 75-115 µs on average
/// (timer slack plus wake-up latency). Sleeping the whole wait would lose a tenth of
/// every 1 ms unit, so the last stretch is spun instead; only this window is spun,
/// never a whole unit (a 10 ms sonyflake unit spins for about 1% of it).
pub const SPIN_WINDOW: Duration = Duration::from_micros(120);

/// One step of a wait loop: sleep if the target is far, spin briefly if it is near.
/// The caller re-reads its clock after each step.
pub fn sleep_then_spin(remaining: Duration) {
  if remaining > SPIN_WINDOW {
    std::thread::sleep(remaining - SPIN_WINDOW);
  } else {
    std::hint::spin_loop();
  }
}

#[cfg(test)]
pub(crate) mod fake {
  use super::Clock;
  use std::cell::Cell;
  use std::time::Duration;

  /// A clock that only moves when told to, or when a generator waits on it.
  #[derive(Debug, Default)]
  pub struct FakeClock {
    pub micros: Cell<i64>,
  }

  impl FakeClock {
    pub fn at_ms(ms: i64) -> Self {
      FakeClock {
        micros: Cell::new(ms * 1000),
      }
    }

    pub fn set_ms(&self, ms: i64) {
      self.micros.set(ms * 1000);
    }
  }

  impl Clock for &FakeClock {
    fn now_micros(&self) -> i64 {
      self.micros.get()
    }

    fn pause(&self, remaining: Duration) {
      self
        .micros
        .set(self.micros.get() + remaining.as_micros() as i64);
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn the_process_clock_reads_like_the_wall_clock_and_never_goes_back() {
    let mut last = process_micros();
    assert!((last - wall_micros()).abs() < 1_000_000);
    for _ in 0..100_000 {
      let now = process_micros();
      assert!(now >= last);
      last = now;
    }
  }

  #[test]
  fn a_shifted_clock_is_offset_from_the_process_clock() {
    let clock = ShiftedClock {
      offset_micros: -5_000_000,
    };
    // The shifted clock first: read after it, the process clock can only be further on, so
    // the gap is 5 s plus the time between the two reads (read the other way round, any
    // microsecond between them made it fall under 5 s).
    let shifted = clock.now_micros();
    let gap = process_micros() - shifted;
    assert!((5_000_000..5_500_000).contains(&gap), "{gap}");
  }
}
