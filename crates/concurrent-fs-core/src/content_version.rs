//! Content versions for optimistic concurrency: equal bytes give equal versions, and
//! any change gives (with overwhelming probability) a different one.
//!
//! XXH3-128: hashing is never the bottleneck next to reading the file (tens of GB/s),
//! and 128 bits make an accidental collision between two contents negligible. It is not
//! cryptographic: a party that can write the file can also just overwrite it, so
//! resistance to deliberately crafted collisions buys nothing here.

use xxhash_rust::xxh3::xxh3_128;

/// The version of `data`: 32 lowercase hex digits.
pub fn content_version(data: &[u8]) -> String {
  format!("{:032x}", xxh3_128(data))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn equal_bytes_equal_versions_and_a_change_shows() {
    let a = content_version(b"{\"n\":1}");
    assert_eq!(a, content_version(b"{\"n\":1}"));
    assert_ne!(a, content_version(b"{\"n\":2}"));
    assert_eq!(a.len(), 32);
    assert!(a
      .bytes()
      .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
  }

  #[test]
  fn matches_the_reference_xxh3_128_of_empty_input() {
    // XXH3_128bits("") from the xxHash reference implementation.
    assert_eq!(content_version(b""), "99aa06d3014798d86001c324468d497f");
  }
}
