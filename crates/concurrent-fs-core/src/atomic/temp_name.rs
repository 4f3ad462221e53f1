//! Names for temp files: `.<basename>.<random>.tmp`, in the target's own directory.
//!
//! The random part must differ across processes and threads (fixed names collide,
//! lowdb#555), so it mixes a per-process random key (std's `RandomState` is seeded
//! from the OS once) with a counter and the clock.

use std::collections::hash_map::RandomState;
use std::ffi::{OsStr, OsString};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Most filesystems cap a name at 255 bytes; keep the temp name under it.
const MAX_BASENAME_BYTES: usize = 200;

pub fn temp_name(basename: &OsStr) -> OsString {
  let base = basename.to_string_lossy();
  let mut cut = base.len().min(MAX_BASENAME_BYTES);
  while !base.is_char_boundary(cut) {
    cut -= 1;
  }
  format!(".{}.{:012x}.tmp", &base[..cut], random_48_bits()).into()
}

fn random_48_bits() -> u64 {
  static KEYS: OnceLock<RandomState> = OnceLock::new();
  static COUNTER: AtomicU64 = AtomicU64::new(0);
  let mut hasher = KEYS.get_or_init(RandomState::new).build_hasher();
  hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
  hasher.write_u32(std::process::id());
  let nanos = SystemTime::now()
    .duration_since(UNIX_EPOCH)
    .map(|d| d.as_nanos())
    .unwrap_or(0);
  hasher.write_u128(nanos);
  hasher.finish() & 0xffff_ffff_ffff
}

/// True if `name` looks like a temp file this module made for `basename`.
pub fn is_temp_name_for(name: &str, basename: &str) -> bool {
  name
    .strip_prefix('.')
    .and_then(|rest| rest.strip_suffix(".tmp"))
    .and_then(|rest| rest.rsplit_once('.'))
    .is_some_and(|(base, random)| {
      basename.starts_with(base)
        && random.len() == 12
        && random.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn names_follow_the_documented_pattern() {
    let name = temp_name(OsStr::new("data.json"));
    let name = name.to_str().unwrap();
    assert!(is_temp_name_for(name, "data.json"), "{name}");
  }

  #[test]
  fn names_are_unique() {
    let names: std::collections::HashSet<_> =
      (0..10_000).map(|_| temp_name(OsStr::new("x"))).collect();
    assert_eq!(names.len(), 10_000);
  }

  #[test]
  fn long_basenames_are_cut_to_fit_255_bytes() {
    let long = "é".repeat(200);
    let name = temp_name(OsStr::new(&long));
    assert!(name.len() <= 255, "{}", name.len());
  }
}
