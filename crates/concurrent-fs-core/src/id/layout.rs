//! Where the fields of a Snowflake-style ID sit, and encoding/decoding them.
//!
//! An ID is a non-negative integer of at most 63 bits: the sign bit stays clear so the
//! same value is a valid signed 64-bit integer for databases, Java and Go. Time is
//! always the most significant field, so IDs sort by time first.

use super::IdError;

/// The order of the two low fields (time is always on top).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Order {
  /// time | worker | sequence: Twitter's layout, and every custom layout.
  TimeWorkerSequence,
  /// time | sequence | machine: Sonyflake's documented order
  /// (`id = time << 24 | sequence << 16 | machine`).
  TimeSequenceWorker,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Layout {
  pub time_bits: u32,
  pub worker_bits: u32,
  pub sequence_bits: u32,
  /// Length of one time step, in milliseconds.
  pub time_unit_ms: u64,
  pub order: Order,
}

/// The fields of one ID. `time` counts time units since the generator's epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Parts {
  pub time: u64,
  pub worker: u64,
  pub sequence: u64,
}

/// A time unit longer than a day would make IDs pointless as timestamps.
const MAX_TIME_UNIT_MS: u64 = 86_400_000;

impl Layout {
  /// 41 bits of milliseconds, 10 worker bits, 12 sequence bits: 4096 IDs per ms per
  /// worker, 69 years from the epoch.
  pub const TWITTER: Layout = Layout {
    time_bits: 41,
    worker_bits: 10,
    sequence_bits: 12,
    time_unit_ms: 1,
    order: Order::TimeWorkerSequence,
  };

  /// 39 bits of 10 ms units, 8 sequence bits, 16 machine bits: 25,600 IDs per second
  /// per machine, 174 years from the epoch.
  pub const SONYFLAKE: Layout = Layout {
    time_bits: 39,
    worker_bits: 16,
    sequence_bits: 8,
    time_unit_ms: 10,
    order: Order::TimeSequenceWorker,
  };

  /// A custom layout, ordered time | worker | sequence.
  pub fn custom(
    time_bits: u32,
    worker_bits: u32,
    sequence_bits: u32,
    time_unit_ms: u64,
  ) -> Result<Layout, IdError> {
    let layout = Layout {
      time_bits,
      worker_bits,
      sequence_bits,
      time_unit_ms,
      order: Order::TimeWorkerSequence,
    };
    layout.validate()?;
    Ok(layout)
  }

  /// Every field at least one bit wide (a zero-width worker or sequence field silently
  /// turns a generator into one that repeats or stalls), all of them within 63 bits.
  pub fn validate(&self) -> Result<(), IdError> {
    let widths = [self.time_bits, self.worker_bits, self.sequence_bits];
    if widths.contains(&0) {
      return Err(IdError::InvalidLayout(
        "every field needs at least one bit".into(),
      ));
    }
    if widths.iter().map(|&w| u64::from(w)).sum::<u64>() > 63 {
      return Err(IdError::InvalidLayout(
        "the fields must fit in 63 bits".into(),
      ));
    }
    if !(1..=MAX_TIME_UNIT_MS).contains(&self.time_unit_ms) {
      return Err(IdError::InvalidLayout(format!(
        "the time unit must be 1 to {MAX_TIME_UNIT_MS} ms"
      )));
    }
    Ok(())
  }

  pub fn total_bits(&self) -> u32 {
    self.time_bits + self.worker_bits + self.sequence_bits
  }

  pub fn max_time(&self) -> u64 {
    mask(self.time_bits)
  }

  pub fn max_worker(&self) -> u64 {
    mask(self.worker_bits)
  }

  pub fn max_sequence(&self) -> u64 {
    mask(self.sequence_bits)
  }

  /// Bit offsets of (time, worker, sequence).
  fn shifts(&self) -> (u32, u32, u32) {
    match self.order {
      Order::TimeWorkerSequence => (self.worker_bits + self.sequence_bits, self.sequence_bits, 0),
      Order::TimeSequenceWorker => (self.sequence_bits + self.worker_bits, 0, self.worker_bits),
    }
  }

  /// The ID of `parts`. Each field must fit its width (the generator guarantees it).
  pub fn encode(&self, parts: Parts) -> u64 {
    debug_assert!(parts.time <= self.max_time());
    debug_assert!(parts.worker <= self.max_worker());
    debug_assert!(parts.sequence <= self.max_sequence());
    let (time, worker, sequence) = self.shifts();
    parts.time << time | parts.worker << worker | parts.sequence << sequence
  }

  pub fn decode(&self, id: u64) -> Result<Parts, IdError> {
    if id >> self.total_bits() != 0 {
      return Err(IdError::IdOutOfRange {
        bits: self.total_bits(),
      });
    }
    let (time, worker, sequence) = self.shifts();
    Ok(Parts {
      time: id >> time & self.max_time(),
      worker: id >> worker & self.max_worker(),
      sequence: id >> sequence & self.max_sequence(),
    })
  }
}

fn mask(bits: u32) -> u64 {
  (1u64 << bits) - 1
}

#[cfg(test)]
mod tests {
  use super::*;

  fn parts(time: u64, worker: u64, sequence: u64) -> Parts {
    Parts {
      time,
      worker,
      sequence,
    }
  }

  #[test]
  fn twitter_layout_matches_a_published_snowflake() {
    // Discord's documentation decodes 175928847299117063 (Twitter's bit layout, Discord
    // epoch) as 41944705796 ms, worker 1, process 0, increment 7. Discord splits the 10
    // worker bits into 5 worker + 5 process bits, so our worker field is 1 << 5 | 0.
    let id = 175_928_847_299_117_063;
    let fields = parts(41_944_705_796, 32, 7);
    assert_eq!(Layout::TWITTER.encode(fields), id);
    assert_eq!(Layout::TWITTER.decode(id), Ok(fields));
  }

  #[test]
  fn twitter_layout_puts_time_worker_sequence_from_the_top() {
    // 1 * 2^22 + 1 * 2^12 + 1, written out rather than shifted.
    assert_eq!(
      Layout::TWITTER.encode(parts(1, 1, 1)),
      4_194_304 + 4_096 + 1
    );
    let all = parts((1 << 41) - 1, 1023, 4095);
    assert_eq!(Layout::TWITTER.encode(all), i64::MAX as u64);
  }

  #[test]
  fn sonyflake_layout_is_time_sequence_machine() {
    // Sonyflake: id = time << 24 | sequence << 16 | machine (10 ms time units).
    let fields = parts(1, 2, 3); // time 1, machine 2, sequence 3
    assert_eq!(
      Layout::SONYFLAKE.encode(fields),
      16_777_216 + 3 * 65_536 + 2
    );
    let fields = parts(0x12_3456_789a, 0xbeef, 0xcd);
    let id = 0x12_3456_789a_u64 * (1 << 24) + 0xcd * (1 << 16) + 0xbeef;
    assert_eq!(Layout::SONYFLAKE.encode(fields), id);
    assert_eq!(Layout::SONYFLAKE.decode(id), Ok(fields));
  }

  #[test]
  fn custom_layouts_are_time_worker_sequence() {
    let layout = Layout::custom(40, 8, 15, 1).unwrap();
    let id = layout.encode(parts(5, 6, 7));
    assert_eq!(id, 5 * (1 << 23) + 6 * (1 << 15) + 7);
    assert_eq!(layout.decode(id), Ok(parts(5, 6, 7)));
  }

  #[test]
  fn layouts_over_63_bits_or_with_an_empty_field_are_rejected() {
    assert!(Layout::custom(42, 10, 12, 1).is_err());
    assert!(Layout::custom(0, 10, 12, 1).is_err());
    assert!(Layout::custom(41, 0, 12, 1).is_err());
    assert!(Layout::custom(41, 10, 0, 1).is_err());
    assert!(Layout::custom(41, 10, 12, 0).is_err());
    assert!(Layout::custom(u32::MAX, u32::MAX, 2, 1).is_err());
    assert!(Layout::custom(41, 10, 12, 1).is_ok());
  }

  #[test]
  fn decoding_rejects_ids_wider_than_the_layout() {
    assert!(Layout::TWITTER.decode(1 << 63).is_err());
    let small = Layout::custom(10, 2, 3, 1).unwrap();
    assert_eq!(
      small.decode(1 << 15),
      Err(IdError::IdOutOfRange { bits: 15 })
    );
  }
}
