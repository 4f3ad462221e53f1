//! IDs: Snowflake generators, UUIDv7 and machine worker IDs.
//!
//! Arguments are validated by the TypeScript layer. Errors the core can still raise (a
//! clock moving backwards, a layout's time running out) leave as `"id"` errors (see
//! error.rs), which the TypeScript layer turns into proper error objects.
//!
//! A JS-to-native call costs about 25 ns (far more here once napi-rs converts the
//! arguments), so batches cross in one call: the caller's typed array is filled in
//! place, or many UUIDs travel as one joined string.

use crate::error::{id_to_napi, to_napi};
use concurrent_fs_core::id::clock::{process_micros, ShiftedClock};
use concurrent_fs_core::id::layout::{self, Layout};
use concurrent_fs_core::id::mark::HeldMark;
use concurrent_fs_core::id::snowflake::{self, Config, Snowflake};
use concurrent_fs_core::id::{uuidv7, worker_id, IdError};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::path::Path;

/// The order of the fields below the time, which is always the most significant.
#[napi(string_enum = "kebab-case")]
pub enum BitOrder {
  /// time | worker | sequence: Twitter's layout, and every custom one.
  TimeWorkerSequence,
  /// time | sequence | machine: Sonyflake's.
  TimeSequenceWorker,
}

/// What a generator does when the clock reads earlier than the last ID's time.
#[napi(string_enum = "lowercase")]
pub enum ClockBackwards {
  /// Waits for the clock to catch up, up to a second (NTP steps are well under one);
  /// further behind, throws as `throw` does.
  Wait,
  /// Throws at once (`ECLOCKBACKWARDS`).
  Throw,
}

/// A Snowflake bit layout (the TypeScript `SnowflakeLayout`). Taken by `strict`
/// functions only (see `WriteOptions` in atomic.rs).
#[napi(object)]
pub struct LayoutSpec {
  pub time_bits: u32,
  pub worker_bits: u32,
  pub sequence_bits: u32,
  pub time_unit_ms: u32,
  pub order: BitOrder,
}

impl LayoutSpec {
  fn to_core(&self) -> Result<Layout> {
    let layout = Layout {
      time_bits: self.time_bits,
      worker_bits: self.worker_bits,
      sequence_bits: self.sequence_bits,
      time_unit_ms: u64::from(self.time_unit_ms),
      order: match self.order {
        BitOrder::TimeWorkerSequence => layout::Order::TimeWorkerSequence,
        BitOrder::TimeSequenceWorker => layout::Order::TimeSequenceWorker,
      },
    };
    layout.validate().map_err(id_to_napi)?;
    Ok(layout)
  }
}

/// A generator's settings (the TypeScript `SnowflakeSettings`).
#[napi(object)]
pub struct SnowflakeConfig {
  pub layout: LayoutSpec,
  pub worker_id: i64,
  /// The epoch, in ms since the Unix epoch.
  #[napi(js_name = "epoch")]
  pub epoch_ms: i64,
  /// Default `'wait'`.
  pub clock_backwards: Option<ClockBackwards>,
}

/// The fields of an ID (the TypeScript `SnowflakeFields`).
#[napi(object)]
pub struct SnowflakeFields {
  /// Time units since the epoch.
  pub time: i64,
  pub worker_id: i64,
  pub sequence: i64,
}

fn non_negative(worker_id: i64) -> Result<u64> {
  u64::try_from(worker_id).map_err(|_| Error::from_reason("worker ID must not be negative"))
}

/// One Snowflake generator. Every generator with the same worker ID, epoch and layout in
/// the process (any thread) shares one sequence, and honours the marks of the leases
/// held on its worker ID.
#[napi]
pub struct NativeSnowflake {
  inner: Snowflake<ShiftedClock>,
}

#[napi]
impl NativeSnowflake {
  #[napi(factory, catch_unwind, strict)]
  pub fn create(config: SnowflakeConfig) -> Result<Self> {
    let clock_backwards = match config.clock_backwards.unwrap_or(ClockBackwards::Wait) {
      ClockBackwards::Wait => snowflake::ClockBackwards::DEFAULT_WAIT,
      ClockBackwards::Throw => snowflake::ClockBackwards::Throw,
    };
    let config = Config {
      layout: config.layout.to_core()?,
      worker_id: non_negative(config.worker_id)?,
      epoch_ms: config.epoch_ms,
      clock_backwards,
    };
    let inner = Snowflake::shared(config, ShiftedClock::default()).map_err(id_to_napi)?;
    Ok(NativeSnowflake { inner })
  }

  /// Fills the whole array with consecutive IDs.
  #[napi(catch_unwind)]
  pub fn fill(&mut self, mut out: BigUint64ArraySlice) -> Result<()> {
    self.inner.next_batch(out.writable()).map_err(id_to_napi)
  }

  /// Fills the front of the array with up to `max` IDs of the current time unit;
  /// returns how many. The caller caches them and hands them out while the unit lasts.
  #[napi(catch_unwind)]
  pub fn fill_current_unit(&mut self, mut out: BigUint64ArraySlice, max: u32) -> Result<u32> {
    let out = out.writable();
    let end = out.len().min(max as usize);
    let count = self
      .inner
      .fill_current_unit(&mut out[..end])
      .map_err(id_to_napi)?;
    Ok(count as u32)
  }

  /// This generator's clock in µs since the Unix epoch (exact as a double until 2255).
  #[napi(catch_unwind)]
  pub fn clock_micros(&self) -> f64 {
    self.inner.clock_micros() as f64
  }

  /// Test hook: moves this generator's clock by `offset_ms` from the real clock.
  #[napi(catch_unwind)]
  pub fn set_clock_offset_for_testing(&mut self, offset_ms: f64) {
    self.inner.clock_mut().offset_micros = (offset_ms * 1000.0) as i64;
  }
}

/// The fields of `id` in `layout`. The id must be a non-negative bigint below 2^64.
#[napi(catch_unwind, strict)]
pub fn parse_snowflake(id: BigInt, layout: LayoutSpec) -> Result<SnowflakeFields> {
  let (negative, value, lossless) = id.get_u64();
  let layout = layout.to_core()?;
  if negative || !lossless {
    let bits = layout.total_bits();
    return Err(id_to_napi(IdError::IdOutOfRange { bits }));
  }
  let parts = layout.decode(value).map_err(id_to_napi)?;
  // Every field is below 2^63; as numbers they are exact up to 2^53, which covers any
  // time since a sane epoch and any worker ID a number can name.
  Ok(SnowflakeFields {
    time: parts.time as i64,
    worker_id: parts.worker as i64,
    sequence: parts.sequence as i64,
  })
}

#[napi(catch_unwind)]
pub fn uuidv7() -> String {
  uuidv7::to_text(&uuidv7::new_v7())
}

/// `count` increasing UUIDs as one string of `count * 36` characters, which JS slices:
/// one string crossing the boundary is much cheaper than `count` of them.
#[napi(catch_unwind)]
pub fn uuidv7_joined(count: u32) -> String {
  let mut ids = vec![[0u8; 16]; count as usize];
  uuidv7::fill_v7(&mut ids);
  let mut text = String::with_capacity(ids.len() * uuidv7::TEXT_LEN);
  for id in &ids {
    uuidv7::write_text(id, &mut text);
  }
  text
}

/// Fills the array with `length / 16` increasing UUIDs in binary form.
#[napi(catch_unwind)]
pub fn fill_uuidv7_bytes(mut out: Uint8ArraySlice) {
  let out = out.writable();
  let mut ids = vec![[0u8; 16]; out.len() / 16];
  uuidv7::fill_v7(&mut ids);
  for (chunk, id) in out.chunks_exact_mut(16).zip(&ids) {
    chunk.copy_from_slice(id);
  }
}

/// The memory of a typed array passed in for this call to fill. Filling the caller's
/// array avoids creating an external ArrayBuffer per call, which costs microseconds
/// (measured: 1.9 µs for a 16-byte one).
trait Writable {
  type Item;
  fn writable(&mut self) -> &mut [Self::Item];
}

macro_rules! impl_writable {
  ($slice:ident, $item:ty) => {
    impl Writable for $slice<'_> {
      type Item = $item;
      fn writable(&mut self) -> &mut [$item] {
        // SAFETY: the TypeScript layer passes typed arrays it owns (never views of a
        // SharedArrayBuffer, so no other thread touches them), and no JavaScript runs
        // during this synchronous call, so nothing else reads or writes the memory
        // meanwhile; the slice does not outlive the call.
        unsafe { self.as_mut() }
      }
    }
  };
}

impl_writable!(BigUint64ArraySlice, u64);
impl_writable!(Uint8ArraySlice, u8);

/// `bits` is 1..=53 (checked by the caller), so the ID is an exact JS number.
#[napi(catch_unwind)]
pub fn machine_worker_id(bits: u32) -> Result<i64> {
  worker_id::machine_worker_id(bits)
    .map(|id| id as i64)
    .ok_or_else(|| Error::from_reason(format!("worker bits must be 1 to 63, got {bits}")))
}

/// The high-water mark of a leased worker ID (`dir/worker-<id>.hwm`), held while the
/// lease's lock is: every generator on the ID in this process honours and renews it.
#[napi]
pub struct NativeWorkerMark {
  inner: HeldMark,
}

#[napi]
impl NativeWorkerMark {
  #[napi(factory, catch_unwind)]
  pub fn hold(worker_id: i64, path: String) -> Result<Self> {
    let worker = non_negative(worker_id)?;
    let now_ms = process_micros().div_euclid(1000);
    let inner = HeldMark::hold(worker, Path::new(&path), now_ms).map_err(to_napi)?;
    Ok(NativeWorkerMark { inner })
  }

  /// The mark found at `hold` (Unix ms), or null if there was none.
  #[napi(catch_unwind)]
  pub fn floor_ms(&self) -> Option<f64> {
    self.inner.floor_ms().map(|ms| ms as f64)
  }

  /// Records the last millisecond used and stops renewing; never fails.
  #[napi(catch_unwind)]
  pub fn release(&mut self) {
    self.inner.release();
  }
}

/// The generators' clock (Unix ms, with a fraction), for waiting until a mark is past.
#[napi(catch_unwind)]
pub fn id_clock_ms() -> f64 {
  process_micros() as f64 / 1000.0
}
