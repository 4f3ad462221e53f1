//! What the core's tests share: a scratch directory per test (removed when dropped),
//! and small probes of what a test left on disk.

use std::path::{Path, PathBuf};
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

  /// A fresh directory and the path `name` in it (not created).
  pub fn with_path(label: &str, name: &str) -> (Self, PathBuf) {
    let dir = Self::new(label);
    let path = dir.join(name);
    (dir, path)
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

/// The permission bits of `path` (following links).
#[cfg(unix)]
pub fn mode_of(path: &Path) -> u32 {
  use std::os::unix::fs::PermissionsExt;
  std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Sets the permission bits of `path` (following links).
#[cfg(unix)]
pub fn set_mode(path: &Path, mode: u32) {
  use std::os::unix::fs::PermissionsExt;
  std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `path` holds `content` and is the only name in `dir`: no temp file was left.
pub fn assert_alone(dir: &ScratchDir, path: &Path, content: &[u8]) {
  assert_eq!(std::fs::read(path).unwrap(), content);
  let name = path.file_name().unwrap().to_string_lossy();
  assert_eq!(dir.names(), vec![name.into_owned()]);
}

/// Makes a FIFO at `path`.
#[cfg(unix)]
pub fn make_fifo(path: &Path, mode: u32) {
  rustix::fs::mknodat(
    rustix::fs::CWD,
    path,
    rustix::fs::FileType::Fifo,
    rustix::fs::Mode::from_raw_mode(mode),
    0,
  )
  .unwrap();
}
