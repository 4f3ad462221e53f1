use super::*;
use crate::test_util::ScratchDir;
use std::fs;

fn pattern(len: usize) -> Vec<u8> {
  (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// A scratch directory with files `src` and `dest` holding the given contents.
fn src_and_dest(
  label: &str,
  src: &[u8],
  dest: &[u8],
) -> (ScratchDir, std::path::PathBuf, std::path::PathBuf) {
  let dir = ScratchDir::new(label);
  let (src_path, dest_path) = (dir.join("src"), dir.join("dest"));
  fs::write(&src_path, src).unwrap();
  fs::write(&dest_path, dest).unwrap();
  (dir, src_path, dest_path)
}

#[test]
fn copies_every_byte_and_leaves_no_temp_file() {
  let dir = ScratchDir::new("copy-bytes");
  for (name, len) in [("empty", 0), ("small", 5), ("big", 3 << 20)] {
    let src = dir.join(&format!("{name}.src"));
    let dest = dir.join(&format!("{name}.dest"));
    fs::write(&src, pattern(len)).unwrap();
    let method = clone_or_copy(&src, &dest, Durability::Data).unwrap();
    assert_eq!(
      fs::read(&dest).unwrap(),
      pattern(len),
      "{name} via {method:?}"
    );
  }
  let names = dir.names();
  assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
  assert_eq!(names.len(), 6);
}

#[test]
fn replaces_an_existing_destination() {
  let (dir, src, dest) = src_and_dest(
    "copy-replace",
    b"new content",
    b"old content that was longer",
  );
  clone_or_copy(&src, &dest, Durability::None).unwrap();
  assert_eq!(fs::read_to_string(&dest).unwrap(), "new content");
  assert_eq!(dir.names(), vec!["dest", "src"]);
}

#[cfg(unix)]
#[test]
fn the_copy_has_the_source_mode_not_the_umask_or_the_old_file() {
  use crate::test_util::{mode_of, set_mode};
  let (_dir, src, dest) = src_and_dest("copy-mode", b"#!/bin/sh\n", b"old");
  set_mode(&dest, 0o600);
  for mode in [0o751, 0o604] {
    set_mode(&src, mode);
    clone_or_copy(&src, &dest, Durability::None).unwrap();
    let got = mode_of(&dest);
    assert_eq!(got, mode, "{got:o}");
  }
}

#[cfg(unix)]
#[test]
fn follows_a_symlinked_source_and_writes_through_a_symlinked_destination() {
  let dir = ScratchDir::new("copy-links");
  fs::write(dir.join("real-src"), "through the link").unwrap();
  std::os::unix::fs::symlink("real-src", dir.join("src-link")).unwrap();
  fs::write(dir.join("real-dest"), "old").unwrap();
  std::os::unix::fs::symlink("real-dest", dir.join("dest-link")).unwrap();
  clone_or_copy(
    &dir.join("src-link"),
    &dir.join("dest-link"),
    Durability::None,
  )
  .unwrap();
  assert_eq!(
    fs::read_to_string(dir.join("real-dest")).unwrap(),
    "through the link"
  );
  assert!(fs::symlink_metadata(dir.join("dest-link"))
    .unwrap()
    .is_symlink());
}

#[test]
fn errors_name_the_path_they_are_about_and_leave_the_destination_alone() {
  let dir = ScratchDir::new("copy-errors");
  let dest = dir.join("dest");
  fs::write(&dest, "keep me").unwrap();

  let missing = dir.join("missing");
  let err = clone_or_copy(&missing, &dest, Durability::None).unwrap_err();
  assert_eq!((err.code, err.syscall), ("ENOENT", "open"));
  assert_eq!(err.path.as_deref(), Some(missing.as_path()));

  let err = clone_or_copy(dir.join("").as_path(), &dest, Durability::None).unwrap_err();
  assert_eq!(err.code, "EISDIR");

  let src = dir.join("src");
  fs::write(&src, "x").unwrap();
  let nowhere = dir.join("no-dir").join("dest");
  let err = clone_or_copy(&src, &nowhere, Durability::None).unwrap_err();
  assert_eq!(err.code, "ENOENT");
  assert_eq!(err.path.as_deref(), Some(nowhere.as_path()));

  fs::create_dir(dir.join("a-dir")).unwrap();
  let err = clone_or_copy(&src, &dir.join("a-dir"), Durability::None).unwrap_err();
  assert_eq!(err.code, "EISDIR");
  assert_eq!(err.path.as_deref(), Some(dir.join("a-dir").as_path()));

  assert_eq!(fs::read_to_string(&dest).unwrap(), "keep me");
  assert_eq!(dir.names(), vec!["a-dir", "dest", "src"]);
}

#[cfg(any(target_os = "linux", target_os = "android"))] // rustix has no mknodat on macOS
#[test]
fn a_fifo_source_is_refused_without_waiting_for_a_writer() {
  let dir = ScratchDir::new("copy-fifo");
  let fifo = dir.join("fifo");
  crate::test_util::make_fifo(&fifo, 0o600);
  let err = clone_or_copy(&fifo, &dir.join("dest"), Durability::None).unwrap_err();
  assert_eq!((err.code, err.syscall), ("EINVAL", "open"));
  assert_eq!(dir.names(), vec!["fifo"]);
}

/// Where the test machine's temp dir cannot clone (ext4, tmpfs), the kernel copy is
/// what Linux falls back to; a reflink-capable temp dir (btrfs, XFS) clones.
#[cfg(target_os = "linux")]
#[test]
fn linux_falls_back_from_clone_to_the_kernel_copy() {
  let dir = ScratchDir::new("copy-method");
  let (src, dest) = (dir.join("src"), dir.join("dest"));
  fs::write(&src, pattern(64 << 10)).unwrap();
  let method = clone_or_copy(&src, &dest, Durability::None).unwrap();
  assert!(
    matches!(method, CopyMethod::Reflink | CopyMethod::CopyRange),
    "{method:?}"
  );
  println!("copy method in {}: {method:?}", dir.join("").display());
}

/// A reflink-capable directory given by the environment (the vitest suite mounts an
/// XFS image for the same check): there the copy must be a clone.
#[cfg(target_os = "linux")]
#[test]
fn clones_where_the_filesystem_can() {
  let Some(root) = std::env::var_os("CFS_REFLINK_DIR") else {
    println!("skipped: set CFS_REFLINK_DIR to a directory on btrfs or XFS (reflink=1)");
    return;
  };
  let root = std::path::PathBuf::from(root);
  let (src, dest) = (root.join("cfs-clone-src"), root.join("cfs-clone-dest"));
  fs::write(&src, pattern(1 << 20)).unwrap();
  let method = clone_or_copy(&src, &dest, Durability::Data).unwrap();
  assert_eq!(method, CopyMethod::Reflink);
  assert_eq!(fs::read(&dest).unwrap(), pattern(1 << 20));
  let _ = fs::remove_file(src);
  let _ = fs::remove_file(dest);
}
