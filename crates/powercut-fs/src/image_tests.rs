use super::*;

const ROOT: Ino = 1;
const OLD: Ino = 10;
const TEMP: Ino = 11;

/// A root holding `target` (inode OLD, content "old"), all durable.
fn image(keep_history: bool) -> Image {
  let mut nodes = HashMap::new();
  nodes.insert(
    ROOT,
    Node {
      content: Content::Dir(BTreeMap::from([("target".into(), OLD)])),
      mode: 0o755,
    },
  );
  nodes.insert(
    OLD,
    Node {
      content: Content::File(b"old".to_vec()),
      mode: 0o644,
    },
  );
  Image::new(ROOT, nodes, keep_history)
}

/// Live: temp file written with "new", then renamed over target (one change of ROOT).
fn write_then_rename(image: &mut Image) {
  image.saw(TEMP, Kind::File, 0o644);
  image.dir_changed(ROOT, vec![("temp".into(), Some(TEMP))]);
  image.data_changed(
    TEMP,
    DataOp::Write {
      offset: 0,
      bytes: b"new".to_vec(),
    },
  );
  image.dir_changed(
    ROOT,
    vec![("temp".into(), None), ("target".into(), Some(TEMP))],
  );
}

fn target_after_cut(image: &Image, keep: &mut dyn FnMut(usize) -> usize) -> Option<Vec<u8>> {
  let dir = tempdir();
  image.cut(keep).materialize(&dir).unwrap();
  let content = fs::read(dir.join("target")).ok();
  fs::remove_dir_all(&dir).unwrap();
  content
}

fn tempdir() -> std::path::PathBuf {
  use std::sync::atomic::{AtomicUsize, Ordering};
  static N: AtomicUsize = AtomicUsize::new(0);
  let dir = std::env::temp_dir().join(format!(
    "powercut-image-{}-{}",
    std::process::id(),
    N.fetch_add(1, Ordering::Relaxed)
  ));
  fs::create_dir_all(&dir).unwrap();
  dir
}

fn nothing(_: usize) -> usize {
  0
}

/// A write to a temp file renamed over `target`: what a cut leaves at `target` depends on
/// which of the two was flushed, and only the file and then its directory make it durable.
#[test]
fn a_replacement_is_durable_once_the_file_and_then_its_directory_are_flushed() {
  let cases: [(&str, bool, bool, &[u8]); 4] = [
    ("nothing flushed: the old state", false, false, b"old"),
    (
      "the file flushed, not its rename: lost",
      true,
      false,
      b"old",
    ),
    (
      "the rename flushed, not the file: an empty file",
      false,
      true,
      b"",
    ),
    ("the file, then the directory: durable", true, true, b"new"),
  ];
  for (case, file_flushed, dir_flushed, expected) in cases {
    let mut image = image(false);
    write_then_rename(&mut image);
    if file_flushed {
      image.sync_file(TEMP, b"new".to_vec(), 0o644);
    }
    if dir_flushed {
      image.sync_dir(ROOT, BTreeMap::from([("target".into(), TEMP)]), 0o755);
    }
    let target = target_after_cut(&image, &mut nothing);
    assert_eq!(target.as_deref(), Some(expected), "{case}");
  }
}

#[test]
fn a_new_file_needs_its_directory_flushed() {
  let mut image = image(false);
  image.saw(TEMP, Kind::File, 0o644);
  image.sync_file(TEMP, b"x".to_vec(), 0o644);
  let dir = tempdir();
  image.cut(&mut nothing).materialize(&dir).unwrap();
  assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "only target");
  fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn prefix_mode_keeping_everything_is_the_live_state() {
  let mut image = image(true);
  write_then_rename(&mut image);
  assert_eq!(
    target_after_cut(&image, &mut |len| len),
    Some(b"new".to_vec())
  );
}

#[test]
fn prefix_mode_can_keep_a_rename_without_its_data() {
  let mut image = image(true);
  write_then_rename(&mut image);
  // Data histories are visited first (TEMP: one write), then directories (ROOT: two
  // changes). Keep ROOT's rename but none of TEMP's data: the ALICE "unsafe rename".
  let mut calls = Vec::new();
  let mut keep = |len: usize| {
    calls.push(len);
    if calls.len() == 1 {
      0
    } else {
      len
    }
  };
  assert_eq!(target_after_cut(&image, &mut keep), Some(Vec::new()));
  assert_eq!(calls, vec![1, 2]);
}

#[test]
fn a_rename_within_a_directory_is_never_half_kept() {
  let mut image = image(true);
  write_then_rename(&mut image);
  image.sync_file(TEMP, b"new".to_vec(), 0o644);
  for kept in 0..=2 {
    let dir = tempdir();
    image.cut(&mut |_| kept).materialize(&dir).unwrap();
    let mut names: Vec<_> = fs::read_dir(&dir)
      .unwrap()
      .map(|e| e.unwrap().file_name())
      .collect();
    names.sort();
    let expected: Vec<OsString> = match kept {
      0 => vec!["target".into()],
      1 => vec!["target".into(), "temp".into()],
      _ => vec!["target".into()],
    };
    assert_eq!(names, expected, "kept {kept}");
    let target = fs::read(dir.join("target")).unwrap();
    assert_eq!(
      target,
      if kept == 2 {
        b"new".to_vec()
      } else {
        b"old".to_vec()
      }
    );
    fs::remove_dir_all(&dir).unwrap();
  }
}

#[test]
fn hard_links_share_one_inode() {
  let mut image = image(false);
  image.sync_dir(
    ROOT,
    BTreeMap::from([("target".into(), OLD), ("link".into(), OLD)]),
    0o755,
  );
  let dir = tempdir();
  image.cut(&mut nothing).materialize(&dir).unwrap();
  use std::os::unix::fs::MetadataExt;
  assert_eq!(
    fs::metadata(dir.join("link")).unwrap().ino(),
    fs::metadata(dir.join("target")).unwrap().ino()
  );
  fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn load_reads_a_tree_as_durable() {
  let dir = tempdir();
  fs::create_dir(dir.join("sub")).unwrap();
  fs::write(dir.join("sub/f"), b"data").unwrap();
  fs::hard_link(dir.join("sub/f"), dir.join("g")).unwrap();
  let image = Image::load(&dir, false).unwrap();
  let out = tempdir();
  image.cut(&mut nothing).materialize(&out).unwrap();
  assert_eq!(fs::read(out.join("sub/f")).unwrap(), b"data");
  assert_eq!(fs::read(out.join("g")).unwrap(), b"data");
  fs::remove_dir_all(&dir).unwrap();
  fs::remove_dir_all(&out).unwrap();
}
