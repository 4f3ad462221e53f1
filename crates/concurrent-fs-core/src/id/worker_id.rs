//! A worker ID derived from the machine, with no coordination: a hash of the hostname,
//! the process ID and the MAC addresses, cut to `bits` bits.
//!
//! It is a convenience, not a guarantee. Hashes of distinct processes are independent
//! and uniform, so among `n` processes choosing from `2^bits` IDs the chance that any
//! two collide is the birthday bound
//!
//! ```text
//! p ≈ 1 − exp(−n(n−1) / 2^(bits+1))
//! ```
//!
//! | bits | n = 2   | n = 10 | n = 100 | 50 % at |
//! |------|---------|--------|---------|---------|
//! | 10   | 0.098 % | 4.3 %  | 99.2 %  | n ≈ 38  |
//! | 16   | 0.0015 %| 0.069 %| 7.3 %   | n ≈ 302 |
//!
//! Containers make it worse, not better: PIDs repeat (often 1) and hostnames and MACs
//! may be shared (sony/sonyflake#63, aevitas/flakeid#30). Two generators with the
//! same worker ID can mint the same ID, so whenever processes share a directory, lease
//! the ID instead (`leaseWorkerId`, an OS lock per ID).

use std::sync::OnceLock;

/// The machine-derived worker ID for this process, in `[0, 2^bits)`; `None` unless
/// `1 <= bits <= 63`. Stable for the life of the process.
pub fn machine_worker_id(bits: u32) -> Option<u64> {
  if !(1..=63).contains(&bits) {
    return None;
  }
  static FINGERPRINT: OnceLock<u64> = OnceLock::new();
  let fingerprint = *FINGERPRINT.get_or_init(fingerprint);
  Some(fingerprint & ((1 << bits) - 1))
}

fn fingerprint() -> u64 {
  let mut hash = Fnv1a::default();
  hash.write(hostname().as_bytes());
  hash.write(&[0]);
  hash.write(&std::process::id().to_le_bytes());
  for mac in mac_addresses() {
    hash.write(mac.as_bytes());
  }
  mix(hash.0)
}

/// FNV-1a: small, dependency-free and deterministic (std's hasher is randomly keyed).
struct Fnv1a(u64);

impl Default for Fnv1a {
  fn default() -> Self {
    Fnv1a(0xcbf2_9ce4_8422_2325)
  }
}

impl Fnv1a {
  fn write(&mut self, bytes: &[u8]) {
    for &b in bytes {
      self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
  }
}

/// SplitMix64's finaliser: FNV's low bits depend weakly on the last bytes, and the ID
/// keeps only the low bits, so every input bit is spread over all output bits first.
fn mix(mut x: u64) -> u64 {
  x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
  x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
  x ^ (x >> 31)
}

#[cfg(unix)]
fn hostname() -> String {
  let mut buf = [0u8; 256];
  // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
  let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
  let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
  if ok {
    String::from_utf8_lossy(&buf[..len]).into_owned()
  } else {
    String::new()
  }
}

#[cfg(not(unix))]
fn hostname() -> String {
  std::env::var("COMPUTERNAME").unwrap_or_default()
}

/// MAC addresses of the network interfaces, sorted, without all-zero ones (loopback).
/// Read from sysfs on Linux; elsewhere there are none and the hash uses the rest.
fn mac_addresses() -> Vec<String> {
  let Ok(entries) = std::fs::read_dir("/sys/class/net") else {
    return Vec::new();
  };
  let mut macs: Vec<String> = entries
    .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path().join("address")).ok())
    .map(|mac| mac.trim().to_ascii_lowercase())
    .filter(|mac| !mac.is_empty() && mac.bytes().any(|b| b != b'0' && b != b':'))
    .collect();
  macs.sort();
  macs
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn fits_the_bits_and_is_stable_within_the_process() {
    for bits in [1, 10, 16, 53, 63] {
      let id = machine_worker_id(bits).unwrap();
      assert!(id < 1 << bits);
      assert_eq!(machine_worker_id(bits), Some(id));
    }
    assert_eq!(machine_worker_id(0), None);
    assert_eq!(machine_worker_id(64), None);
  }

  #[test]
  fn narrower_ids_are_the_low_bits_of_wider_ones() {
    let wide = machine_worker_id(63).unwrap();
    assert_eq!(machine_worker_id(10), Some(wide & 1023));
  }

  #[test]
  fn the_hash_spreads_small_input_changes_over_the_low_bits() {
    // Different PIDs on one host must not share low bits systematically.
    let ids: std::collections::HashSet<u64> = (0..1000u32)
      .map(|pid| {
        let mut hash = Fnv1a::default();
        hash.write(b"host");
        hash.write(&pid.to_le_bytes());
        mix(hash.0) & 0xffff
      })
      .collect();
    // 1000 draws from 65536 values: about 7.3 collisions expected; far more means bias.
    assert!(ids.len() > 970, "{}", ids.len());
  }

  #[test]
  fn the_hostname_is_read() {
    #[cfg(target_os = "linux")]
    assert_eq!(
      hostname(),
      std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
    );
  }
}
