//! A scratch directory per test, removed when dropped.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

pub struct ScratchDir(PathBuf);

impl ScratchDir {
  pub fn new(label: &str) -> Self {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("cfs-core-{label}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    ScratchDir(dir)
  }

  pub fn join(&self, name: &str) -> PathBuf {
    self.0.join(name)
  }

  /// Names in the directory, sorted.
  pub fn names(&self) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(&self.0)
      .unwrap()
      .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
      .collect();
    names.sort();
    names
  }
}

impl Drop for ScratchDir {
  fn drop(&mut self) {
    let _ = std::fs::remove_dir_all(&self.0);
  }
}
