//! High-water marks of leased worker IDs: what keeps a worker ID's IDs from repeating
//! when the ID passes from one holder to the next.
//!
//! A Snowflake ID is (time, worker, sequence), so a new holder of worker ID `w` repeats
//! its predecessor's IDs if it mints in a time unit the predecessor already used (the
//! same process re-leasing within a millisecond, or a successor of a holder killed a
//! moment ago). The lease therefore keeps a mark in `dir/worker-<w>.hwm`, beside the
//! lock file `worker-<w>.lock` (which stays empty), written only while the lock is held:
//!
//! - While held, the file holds a *reservation* `R`: no ID under `w` carries a time
//!   later than `R` until the file says otherwise. Generators renew it (to the clock
//!   plus [`RESERVATION_MS`]) before they mint past `R` minus [`RENEW_MARGIN_MS`], so a
//!   holder that is SIGKILLed leaves a mark at most about a second ahead of its clock.
//! - At release it holds the last millisecond actually used, so a quick re-lease
//!   waits at most a time unit.
//! - A new holder reads the mark as its *floor*: its generators never mint a time unit
//!   that starts at or before it.
//!
//! The format, for other languages taking part: the file's whole content is the mark as
//! a decimal integer of Unix milliseconds (the last millisecond any ID under the worker
//! ID may carry, inclusive), optionally followed by a newline, e.g. `1735689600123\n`.
//! Any epoch and layout can honour it. It is replaced atomically (rename) without a
//! flush: a crash of the process never tears it, but after a power loss it may be empty
//! or older, and is then only as good as the clock after the reboot (as for any
//! Snowflake generator). An empty file counts as no mark.

use super::shared::{lock, shared, Registry};
use crate::atomic::{self, Durability, WriteOptions};
use crate::error::{Error, Result};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// How far ahead of the clock a holder reserves time.
pub const RESERVATION_MS: i64 = 1000;
/// A reservation is renewed once minting comes this close to its end.
pub const RENEW_MARGIN_MS: i64 = 500;

/// One held lease's mark.
#[derive(Debug)]
struct LeaseMark {
  token: u64,
  path: PathBuf,
  /// What the file said when the lease was taken.
  floor_ms: Option<i64>,
  /// What the file says now.
  reserved_ms: i64,
}

/// The marks of every lease this process holds on one worker ID (one per lease
/// directory), and the last millisecond its generators used.
#[derive(Debug, Default)]
pub struct WorkerMarks {
  leases: Vec<LeaseMark>,
  next_token: u64,
  /// The end of the latest time unit any generator on this worker ID minted in.
  used_ms: Option<i64>,
}

impl WorkerMarks {
  /// The latest floor of the held leases: no ID may carry this millisecond or earlier.
  pub fn floor_ms(&self) -> Option<i64> {
    self.leases.iter().filter_map(|lease| lease.floor_ms).max()
  }

  /// Called before handing out an ID whose time unit ends at `end_ms`, with the clock at
  /// `now_ms`: renews every reservation that would not cover it comfortably. On an error
  /// the ID must not be handed out.
  pub fn cover(&mut self, end_ms: i64, now_ms: i64) -> std::result::Result<(), Error> {
    self.used_ms = self.used_ms.max(Some(end_ms));
    for lease in &mut self.leases {
      if end_ms > lease.reserved_ms - RENEW_MARGIN_MS {
        let reserved = end_ms.max(now_ms.saturating_add(RESERVATION_MS));
        write_mark(&lease.path, reserved)?;
        lease.reserved_ms = reserved;
      }
    }
    Ok(())
  }

  fn hold(&mut self, path: PathBuf, now_ms: i64) -> Result<(u64, Option<i64>)> {
    let floor_ms = read_mark(&path)?;
    let reserved_ms = floor_ms
      .unwrap_or(i64::MIN)
      .max(now_ms.saturating_add(RESERVATION_MS));
    write_mark(&path, reserved_ms)?;
    let token = self.next_token;
    self.next_token += 1;
    self.leases.push(LeaseMark {
      token,
      path,
      floor_ms,
      reserved_ms,
    });
    Ok((token, floor_ms))
  }

  fn release(&mut self, token: u64) {
    let Some(at) = self.leases.iter().position(|lease| lease.token == token) else {
      return;
    };
    let lease = self.leases.swap_remove(at);
    // The last millisecond actually used; a failed write leaves the reservation, which
    // is later than anything used, so the next holder only waits longer.
    let last = lease.floor_ms.max(self.used_ms);
    if let Some(last) = last.filter(|&last| last < lease.reserved_ms) {
      let _ = write_mark(&lease.path, last);
    }
  }
}

/// A held mark: registered with its worker ID's generators until released or dropped.
#[derive(Debug)]
pub struct HeldMark {
  marks: Arc<Mutex<WorkerMarks>>,
  token: u64,
  floor_ms: Option<i64>,
  released: bool,
}

impl HeldMark {
  /// Reads the mark at `path`, reserves time ahead of `now_ms` in it, and makes every
  /// generator on `worker` in this process honour and renew it. The caller must hold
  /// the worker ID's lease (its lock) until [`HeldMark::release`].
  pub fn hold(worker: u64, path: &Path, now_ms: i64) -> Result<HeldMark> {
    let marks = worker_marks(worker);
    let (token, floor_ms) = lock(&marks).hold(path.to_path_buf(), now_ms)?;
    Ok(HeldMark {
      marks,
      token,
      floor_ms,
      released: false,
    })
  }

  /// The mark found when the lease was taken (Unix ms), if there was one.
  pub fn floor_ms(&self) -> Option<i64> {
    self.floor_ms
  }

  /// Records the last millisecond used and stops renewing. Never fails (see
  /// [`WorkerMarks::release`]); a second call does nothing.
  pub fn release(&mut self) {
    if !std::mem::replace(&mut self.released, true) {
      lock(&self.marks).release(self.token);
    }
  }
}

impl Drop for HeldMark {
  fn drop(&mut self) {
    self.release();
  }
}

/// The marks of `worker`, shared by every generator and lease on it in this process.
pub fn worker_marks(worker: u64) -> Arc<Mutex<WorkerMarks>> {
  static WORKERS: Registry<u64, WorkerMarks> = OnceLock::new();
  shared(&WORKERS, worker)
}

/// The mark in `path`: `None` if the file is missing or empty.
pub fn read_mark(path: &Path) -> Result<Option<i64>> {
  let text = match std::fs::read_to_string(path) {
    Ok(text) => text,
    Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
    Err(err) => return Err(Error::from_io(&err, "read", path)),
  };
  let text = text.trim_end_matches('\n');
  if text.is_empty() {
    return Ok(None);
  }
  match text.parse::<i64>() {
    Ok(ms) if text.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(ms)),
    _ => Err(Error::synthetic("EINVAL", "read", path)),
  }
}

pub fn write_mark(path: &Path, ms: i64) -> Result<()> {
  let options = WriteOptions {
    durability: Durability::None,
    mode: None,
    no_clobber: false,
  };
  atomic::write(path, format!("{ms}\n").as_bytes(), &options)
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::test_util::ScratchDir;

  #[test]
  fn a_hold_reserves_ahead_and_a_release_records_the_last_millisecond_used() {
    let dir = ScratchDir::new("mark");
    let path = dir.join("worker-1.hwm");
    let mut marks = WorkerMarks::default();
    let (token, floor) = marks.hold(path.clone(), 10_000).unwrap();
    assert_eq!(floor, None);
    assert_eq!(read_mark(&path).unwrap(), Some(10_000 + RESERVATION_MS));
    marks.cover(10_002, 10_002).unwrap();
    assert_eq!(
      read_mark(&path).unwrap(),
      Some(10_000 + RESERVATION_MS),
      "no renewal yet"
    );
    marks.cover(10_600, 10_600).unwrap();
    assert_eq!(
      read_mark(&path).unwrap(),
      Some(10_600 + RESERVATION_MS),
      "renewed"
    );
    marks.release(token);
    assert_eq!(read_mark(&path).unwrap(), Some(10_600));
    let (_, floor) = marks.hold(path.clone(), 10_601).unwrap();
    assert_eq!(floor, Some(10_600));
  }

  #[test]
  fn a_release_keeps_the_old_mark_when_nothing_later_was_used() {
    let dir = ScratchDir::new("mark");
    let path = dir.join("worker-2.hwm");
    write_mark(&path, 50_000).unwrap();
    let mut marks = WorkerMarks::default();
    let (token, floor) = marks.hold(path.clone(), 49_000).unwrap();
    assert_eq!(floor, Some(50_000));
    assert_eq!(marks.floor_ms(), Some(50_000));
    marks.release(token);
    assert_eq!(read_mark(&path).unwrap(), Some(50_000));
    assert_eq!(marks.floor_ms(), None);
  }

  #[test]
  fn the_file_format_is_decimal_unix_ms_and_anything_else_is_refused() {
    let dir = ScratchDir::new("mark");
    let path = dir.join("worker-3.hwm");
    for (text, mark) in [
      ("", None),
      ("\n", None),
      ("1735689600123", Some(1735689600123)),
      ("7\n", Some(7)),
    ] {
      std::fs::write(&path, text).unwrap();
      assert_eq!(read_mark(&path).unwrap(), mark, "{text:?}");
    }
    for text in ["-5", "12x", "{\"ms\":1}", " 1"] {
      std::fs::write(&path, text).unwrap();
      assert_eq!(read_mark(&path).unwrap_err().code, "EINVAL", "{text:?}");
    }
    write_mark(&path, 42).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "42\n");
  }
}
