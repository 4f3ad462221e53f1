use super::*;
use crate::test_util::ScratchDir;
use std::fs;

fn entry<'a>(path: &'a Path, data: &'a [u8]) -> ManyEntry<'a> {
  ManyEntry {
    path,
    data,
    mode: None,
  }
}

#[test]
fn writes_every_file_at_every_durability() {
  let dir = ScratchDir::new("many");
  let paths: Vec<PathBuf> = (0..40).map(|i| dir.join(&format!("f{i}"))).collect();
  for durability in [Durability::None, Durability::Data, Durability::Full] {
    let contents: Vec<Vec<u8>> = (0..40)
      .map(|i| format!("{durability:?} {i}").into_bytes())
      .collect();
    let entries: Vec<_> = paths
      .iter()
      .zip(&contents)
      .map(|(p, c)| entry(p, c))
      .collect();
    write_many(&entries, durability).unwrap();
    for (path, content) in paths.iter().zip(&contents) {
      assert_eq!(&fs::read(path).unwrap(), content);
    }
  }
  assert_eq!(dir.names().len(), 40, "no temp file left");
}

#[test]
fn the_later_entry_for_one_file_wins() {
  let (dir, path) = ScratchDir::with_path("many-dup", "f");
  let entries = [entry(&path, b"first"), entry(&path, b"second")];
  write_many(&entries, Durability::Full).unwrap();
  crate::test_util::assert_alone(&dir, &path, b"second");
}

#[test]
fn a_failed_entry_renames_nothing_of_its_chunk_and_leaves_no_temp() {
  let (dir, good) = ScratchDir::with_path("many-fail", "good");
  fs::write(&good, "old").unwrap();
  let missing = dir.join("no-such-dir/f");
  let entries = [entry(&good, b"new"), entry(&missing, b"x")];
  let err = write_many(&entries, Durability::Full).unwrap_err();
  assert_eq!(err.error.code, "ENOENT");
  assert_eq!(err.error.path.as_deref(), Some(missing.as_path()));
  assert!(err.written.is_empty());
  assert_eq!(fs::read(&good).unwrap(), b"old");
  assert_eq!(dir.names(), vec!["good"]);
}

#[cfg(unix)]
#[test]
fn a_directory_in_the_batch_fails_it_before_any_rename() {
  let dir = ScratchDir::new("many-rename");
  let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
  // Found when the temps are made, before anything is renamed: `a` stays absent too.
  fs::create_dir(&b).unwrap();
  let entries = [entry(&a, b"A"), entry(&b, b"B"), entry(&c, b"C")];
  let err = write_many(&entries, Durability::Data).unwrap_err();
  assert_eq!(err.error.code, "EISDIR");
  assert!(err.written.is_empty());
  assert!(!a.exists() && !c.exists());
}

#[cfg(unix)]
#[test]
fn keeps_modes_and_sets_exact_ones() {
  let dir = ScratchDir::new("many-mode");
  let (kept, exact) = (dir.join("kept"), dir.join("exact"));
  fs::write(&kept, "old").unwrap();
  crate::test_util::set_mode(&kept, 0o640);
  let entries = [
    entry(&kept, b"new"),
    ManyEntry {
      path: &exact,
      data: b"new",
      mode: Some(0o604),
    },
  ];
  write_many(&entries, Durability::Full).unwrap();
  assert_eq!(crate::test_util::mode_of(&kept), 0o640);
  assert_eq!(crate::test_util::mode_of(&exact), 0o604);
}

#[test]
fn batches_larger_than_a_chunk_are_written_whole() {
  let dir = ScratchDir::new("many-chunks");
  let paths: Vec<PathBuf> = (0..CHUNK + 3).map(|i| dir.join(&format!("f{i}"))).collect();
  let entries: Vec<_> = paths.iter().map(|p| entry(p, b"x")).collect();
  write_many(&entries, Durability::Data).unwrap();
  assert_eq!(dir.names().len(), CHUNK + 3);
}
