//! UUID version 7 (RFC 9562): Unix milliseconds, then a counter, then random bits.
//!
//! ```text
//!  48 bits       4      12            2    20            42
//! unix_ts_ms | 0111 | counter hi | 10 | counter lo | random
//! ```
//!
//! Monotonic by RFC 9562 section 6.2, Method 1 (fixed-length dedicated counter): a
//! 32-bit counter spans rand_a and the top 20 bits of rand_b, as the `uuid` npm package
//! does. Each new millisecond seeds it randomly with its top bit clear (the RFC's
//! rollover guard), so at least 2^31 UUIDs fit in any millisecond; if it still rolls
//! over, the timestamp moves one millisecond ahead of the clock, as the RFC allows. A
//! clock that reads earlier than the last timestamp is not followed: the last timestamp
//! is reused and the counter keeps counting (the RFC's "Monotonic Error Checking").
//! The state is one process-wide mutex, so UUIDs from all threads increase together.
//!
//! The random bits come from rand's `ThreadRng`: ChaCha12 keyed from the OS and
//! rekeyed every 64 KiB, so a UUID costs a few nanoseconds of keystream rather than a
//! `getrandom` syscall. It is not rekeyed on `fork` (RFC 9562 section 6.9): a process
//! that forks and keeps running Rust code in both halves must not mint UUIDs in both.
//! Node never does that (its children `exec`).

use super::clock::process_micros;
use super::IdError;
use rand::Rng;
use std::sync::Mutex;

pub type Uuid = [u8; 16];

/// Length of the text form, `xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx`.
pub const TEXT_LEN: usize = 36;

const RANDOM_BITS: u32 = 42;
const COUNTER_LOW_BITS: u32 = 20;

/// The last (timestamp, counter) issued in this process.
#[derive(Debug, Default, PartialEq, Eq)]
struct Monotonic {
  ms: u64,
  counter: u32,
}

impl Monotonic {
  /// The (timestamp, counter) to use next, given the clock's reading. `seed` is asked
  /// for random bits only when a new counter starts.
  fn advance(&mut self, now_ms: u64, seed: impl FnOnce() -> u32) -> (u64, u32) {
    if now_ms > self.ms {
      self.ms = now_ms;
      self.counter = seed() >> 1;
    } else if self.counter == u32::MAX {
      self.ms += 1;
      self.counter = seed() >> 1;
    } else {
      self.counter += 1;
    }
    (self.ms, self.counter)
  }
}

/// How many UUIDs a batch mints per clock read, at most.
const CLOCK_READ_EVERY: usize = 256;

static STATE: Mutex<Monotonic> = Mutex::new(Monotonic { ms: 0, counter: 0 });

/// A new UUIDv7, greater than every UUIDv7 made before it in this process.
pub fn new_v7() -> Uuid {
  let mut one = [[0; 16]];
  fill_v7(&mut one);
  one[0]
}

/// Fills `out` with increasing UUIDv7 values, taking the process-wide lock once.
pub fn fill_v7(out: &mut [Uuid]) {
  let mut rng = rand::rng();
  // The state is two integers that are always consistent: a panic elsewhere while the
  // lock was held cannot have left it half-written, so a poisoned lock is still good.
  let mut state = STATE
    .lock()
    .unwrap_or_else(|poisoned| poisoned.into_inner());
  // The clock is read once per CLOCK_READ_EVERY UUIDs, as Snowflake batches do: a read
  // cost a quarter of a batch's time, and a few hundred UUIDs take a few µs, so each
  // still carries the millisecond it was minted in, give or take those µs.
  for chunk in out.chunks_mut(CLOCK_READ_EVERY) {
    let now_ms = (process_micros() / 1000).max(0) as u64;
    for slot in chunk {
      let (ms, counter) = state.advance(now_ms, || rng.next_u32());
      *slot = assemble(ms, counter, rng.next_u64());
    }
  }
}

fn assemble(ms: u64, counter: u32, random: u64) -> Uuid {
  let counter = u128::from(counter);
  let value = u128::from(ms) << 80
    | 0x7 << 76
    | (counter >> COUNTER_LOW_BITS) << 64
    | 0b10 << 62
    | (counter & ((1 << COUNTER_LOW_BITS) - 1)) << RANDOM_BITS
    | u128::from(random) & ((1 << RANDOM_BITS) - 1);
  value.to_be_bytes()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The two hex digits of every byte value.
const HEX_PAIRS: [[u8; 2]; 256] = {
  let mut pairs = [[0; 2]; 256];
  let mut i = 0;
  while i < 256 {
    pairs[i] = [HEX[i >> 4], HEX[i & 0xf]];
    i += 1;
  }
  pairs
};

/// Where each byte's two digits go in the text form.
const TEXT_AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/// Appends the lowercase text form (36 characters) to `out`.
pub fn write_text(uuid: &Uuid, out: &mut String) {
  // Built as bytes and appended once: pushing 36 chars one by one (a capacity check and
  // a UTF-8 encode each) took a third of a 1000-UUID batch's time.
  let mut text = [b'-'; TEXT_LEN];
  for (byte, &at) in uuid.iter().zip(&TEXT_AT) {
    text[at..at + 2].copy_from_slice(&HEX_PAIRS[usize::from(*byte)]);
  }
  out.push_str(std::str::from_utf8(&text).expect("hex digits and hyphens are ASCII"));
}

pub fn to_text(uuid: &Uuid) -> String {
  let mut out = String::with_capacity(TEXT_LEN);
  write_text(uuid, &mut out);
  out
}

/// The bytes of a UUID in its text form (hex digits of either case, four hyphens).
pub fn parse(text: &str) -> Option<Uuid> {
  let text = text.as_bytes();
  if text.len() != TEXT_LEN || [8, 13, 18, 23].iter().any(|&i| text[i] != b'-') {
    return None;
  }
  let mut digits = text.iter().filter(|&&c| c != b'-').map(|&c| hex_value(c));
  let mut uuid = [0; 16];
  for byte in &mut uuid {
    *byte = digits.next()?? << 4 | digits.next()??;
  }
  // 36 characters with hyphens at the four places leave exactly 32 others.
  Some(uuid)
}

fn hex_value(c: u8) -> Option<u8> {
  (c as char).to_digit(16).map(|d| d as u8)
}

/// The Unix timestamp (ms) of a UUIDv7 in text form.
pub fn timestamp_ms(text: &str) -> Result<u64, IdError> {
  let uuid = parse(text).ok_or(IdError::NotUuidV7)?;
  if uuid[6] >> 4 != 7 || uuid[8] >> 6 != 0b10 {
    return Err(IdError::NotUuidV7);
  }
  Ok(uuid[..6].iter().fold(0, |ms, &b| ms << 8 | u64::from(b)))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn the_rfc_example_decodes_to_its_timestamp() {
    // RFC 9562 Appendix A.6: Tuesday, February 22, 2022 2:22:22.00 PM GMT-05:00.
    let ms = timestamp_ms("017F22E2-79B0-7CC3-98C4-DC0C0C07398F").unwrap();
    assert_eq!(ms, 0x017F_22E2_79B0);
    assert_eq!(ms, 1_645_557_742_000);
  }

  #[test]
  fn only_version_7_variant_10_is_accepted() {
    let v4 = "919108f7-52d1-4320-9bac-f847db4148a8";
    assert_eq!(timestamp_ms(v4), Err(IdError::NotUuidV7));
    let wrong_variant = "017f22e2-79b0-7cc3-58c4-dc0c0c07398f";
    assert_eq!(timestamp_ms(wrong_variant), Err(IdError::NotUuidV7));
    for bad in [
      "",
      "017f22e279b07cc398c4dc0c0c07398f",
      "017f22e2-79b0-7cc3-98c4-dc0c0c07398g",
    ] {
      assert_eq!(timestamp_ms(bad), Err(IdError::NotUuidV7), "{bad}");
    }
  }

  #[test]
  fn generated_uuids_are_version_7_variant_10_lowercase_and_current() {
    let before = (process_micros() / 1000) as u64;
    let text = to_text(&new_v7());
    let after = (process_micros() / 1000) as u64;
    assert_eq!(text.len(), 36);
    assert!(text
      .bytes()
      .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f' | b'-')));
    assert_eq!(&text[14..15], "7");
    assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"));
    let ms = timestamp_ms(&text).unwrap();
    assert!((before..=after).contains(&ms));
    assert_eq!(parse(&text).map(|u| to_text(&u)), Some(text));
  }

  #[test]
  fn a_million_uuids_increase_as_text() {
    let mut batch = vec![[0; 16]; 1_000_000];
    fill_v7(&mut batch);
    let texts: Vec<String> = batch.iter().map(to_text).collect();
    for pair in texts.windows(2) {
      assert!(pair[0] < pair[1], "{} then {}", pair[0], pair[1]);
    }
  }

  #[test]
  fn uuids_from_many_threads_are_distinct() {
    let per_thread: Vec<Vec<Uuid>> = std::thread::scope(|s| {
      let handles: Vec<_> = (0..4)
        .map(|_| s.spawn(|| (0..50_000).map(|_| new_v7()).collect()))
        .collect();
      handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for ids in &per_thread {
      assert!(ids.windows(2).all(|p| p[0] < p[1]));
    }
    let all: std::collections::HashSet<Uuid> = per_thread.into_iter().flatten().collect();
    assert_eq!(all.len(), 200_000);
  }

  #[test]
  fn a_new_millisecond_seeds_the_counter_with_its_top_bit_clear() {
    let mut state = Monotonic::default();
    assert_eq!(state.advance(1_000, || u32::MAX), (1_000, u32::MAX >> 1));
    assert_eq!(state.advance(1_000, || unreachable!()), (1_000, 1 << 31));
  }

  #[test]
  fn a_clock_going_back_keeps_the_last_timestamp_and_counts_on() {
    let mut state = Monotonic {
      ms: 5_000,
      counter: 17,
    };
    assert_eq!(state.advance(4_000, || unreachable!()), (5_000, 18));
  }

  #[test]
  fn counter_rollover_moves_the_timestamp_ahead_of_the_clock() {
    let mut state = Monotonic {
      ms: 5_000,
      counter: u32::MAX,
    };
    assert_eq!(state.advance(5_000, || 6), (5_001, 3));
    // The clock catching up to the borrowed millisecond does not reseed it.
    assert_eq!(state.advance(5_001, || unreachable!()), (5_001, 4));
  }

  #[test]
  fn the_text_form_spells_every_byte_value_in_lowercase_hex() {
    for first in (0..=255u8).step_by(16) {
      let uuid: Uuid = std::array::from_fn(|i| first + i as u8);
      let hex: String = uuid.iter().map(|b| format!("{b:02x}")).collect();
      let expected = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
      );
      assert_eq!(to_text(&uuid), expected);
    }
  }

  #[test]
  fn the_counter_and_random_bits_land_where_the_layout_says() {
    let uuid = assemble(0x0123_4567_89ab, 0xfedc_ba98, u64::MAX);
    assert_eq!(to_text(&uuid), "01234567-89ab-7fed-b2ea-63ffffffffff");
  }
}
