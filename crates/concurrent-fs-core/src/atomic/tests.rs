use super::*;
use crate::test_util::ScratchDir;
use std::fs;

fn opts(durability: Durability) -> WriteOptions {
  WriteOptions {
    durability,
    ..WriteOptions::default()
  }
}

#[test]
fn creates_and_replaces_at_every_durability() {
  let dir = ScratchDir::new("replace");
  let path = dir.join("data.json");
  for (i, durability) in [Durability::None, Durability::Data, Durability::Full]
    .into_iter()
    .enumerate()
  {
    let content = format!("content {i}");
    write(&path, content.as_bytes(), &opts(durability)).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), content);
  }
  assert_eq!(dir.names(), vec!["data.json"]);
}

#[cfg(unix)]
#[test]
fn keeps_existing_mode_and_sets_exact_mode() {
  let (_dir, path) = ScratchDir::with_path("mode", "f");
  fs::write(&path, "old").unwrap();
  crate::test_util::set_mode(&path, 0o640);
  write(&path, b"new", &WriteOptions::default()).unwrap();
  assert_eq!(crate::test_util::mode_of(&path), 0o640);

  let exact = WriteOptions {
    mode: Some(0o777),
    ..WriteOptions::default()
  };
  write(&path, b"newer", &exact).unwrap();
  assert_eq!(crate::test_util::mode_of(&path), 0o777);
}

#[test]
fn no_clobber_refuses_an_existing_file_and_leaves_it() {
  let (dir, path) = ScratchDir::with_path("noclobber", "f");
  let no_clobber = WriteOptions {
    no_clobber: true,
    ..WriteOptions::default()
  };
  write(&path, b"first", &no_clobber).unwrap();
  let err = write(&path, b"second", &no_clobber).unwrap_err();
  assert_eq!(err.code, "EEXIST");
  assert!(!err.committed);
  crate::test_util::assert_alone(&dir, &path, b"first");
}

#[test]
fn create_exclusive_reports_who_created() {
  let (dir, path) = ScratchDir::with_path("exclusive", "f");
  assert!(create_exclusive(&path, b"mine", &WriteOptions::default()).unwrap());
  assert!(!create_exclusive(&path, b"yours", &WriteOptions::default()).unwrap());
  crate::test_util::assert_alone(&dir, &path, b"mine");
}

#[test]
fn missing_parent_is_enoent_naming_the_target() {
  let (_dir, path) = ScratchDir::with_path("noparent", "missing/f");
  let err = write(&path, b"x", &WriteOptions::default()).unwrap_err();
  assert_eq!(err.code, "ENOENT");
  assert_eq!(err.syscall, "open");
  assert_eq!(err.path.as_deref(), Some(path.as_path()));
}

#[test]
fn a_directory_target_is_eisdir_and_untouched() {
  let (dir, path) = ScratchDir::with_path("isdir", "sub");
  fs::create_dir(&path).unwrap();
  let err = write(&path, b"x", &WriteOptions::default()).unwrap_err();
  assert_eq!(err.code, "EISDIR");
  assert!(path.is_dir());
  assert_eq!(dir.names(), vec!["sub"]);
}

#[test]
fn abort_and_drop_leave_the_target_and_no_temp() {
  let (dir, path) = ScratchDir::with_path("abort", "f");
  fs::write(&path, "old").unwrap();
  let mut file = AtomicFile::create(&path, &WriteOptions::default()).unwrap();
  file.write(b"partial").unwrap();
  assert_eq!(dir.names().len(), 2, "the temp file exists while writing");
  file.abort().unwrap();
  assert_eq!(dir.names(), vec!["f"]);

  let mut file = AtomicFile::create(&path, &WriteOptions::default()).unwrap();
  file.write(b"partial").unwrap();
  drop(file);
  crate::test_util::assert_alone(&dir, &path, b"old");
}

#[test]
fn temp_files_are_named_after_the_target() {
  let dir = ScratchDir::new("tempname");
  let path = dir.join("data.json");
  let file = AtomicFile::create(&path, &WriteOptions::default()).unwrap();
  let temp = dir.names().into_iter().find(|n| n != "data.json").unwrap();
  assert!(is_temp_name_for(&temp, "data.json"), "{temp}");
  drop(file);
}

#[cfg(unix)]
#[test]
fn writes_through_a_symlink() {
  let dir = ScratchDir::new("symlink");
  let real = dir.join("real");
  fs::write(&real, "old").unwrap();
  std::os::unix::fs::symlink("real", dir.join("link")).unwrap();
  write(&dir.join("link"), b"new", &WriteOptions::default()).unwrap();
  assert_eq!(fs::read(&real).unwrap(), b"new");
  assert!(fs::symlink_metadata(dir.join("link")).unwrap().is_symlink());
}

#[test]
fn concurrent_writers_in_threads_always_leave_a_whole_file() {
  let dir = ScratchDir::new("threads");
  let path = dir.join("f");
  let payloads: Vec<Vec<u8>> = (0..4u8).map(|i| vec![b'a' + i; 64 * 1024]).collect();
  std::thread::scope(|scope| {
    for payload in &payloads {
      let path = &path;
      scope.spawn(move || {
        for _ in 0..50 {
          write(path, payload, &opts(Durability::None)).unwrap();
        }
      });
    }
    for _ in 0..200 {
      if let Ok(read) = fs::read(&path) {
        assert!(
          payloads.contains(&read),
          "read a torn file of {} bytes",
          read.len()
        );
      }
    }
  });
  assert_eq!(dir.names(), vec!["f"]);
}

#[cfg(unix)]
mod links_and_names {
  use super::*;
  use std::os::unix::fs::symlink;

  /// `dir.join(name)` followed by `suffix`, as text (`Path::join` would drop a `/.`).
  fn raw(dir: &ScratchDir, name: &str, suffix: &str) -> PathBuf {
    let mut text = dir.join(name).into_os_string();
    text.push(suffix);
    PathBuf::from(text)
  }

  #[test]
  fn a_cycle_of_two_links_is_eloop_not_a_crash() {
    let dir = ScratchDir::new("cycle");
    symlink("b", dir.join("a")).unwrap();
    symlink("a", dir.join("b")).unwrap();
    let err = write(&dir.join("a"), b"x", &WriteOptions::default()).unwrap_err();
    assert_eq!(
      (err.code, err.path.as_deref()),
      ("ELOOP", Some(dir.join("a").as_path()))
    );
    assert_eq!(dir.names(), vec!["a", "b"]);
  }

  #[test]
  fn forty_links_are_followed_and_the_forty_first_is_eloop() {
    let dir = ScratchDir::new("chain");
    fs::write(dir.join("real"), "old").unwrap();
    for i in 1..=41 {
      let to = if i == 1 {
        "real".to_string()
      } else {
        format!("l{}", i - 1)
      };
      symlink(to, dir.join(&format!("l{i}"))).unwrap();
    }
    write(&dir.join("l40"), b"new", &opts(Durability::None)).unwrap();
    assert_eq!(fs::read(dir.join("real")).unwrap(), b"new");
    let err = write(&dir.join("l41"), b"x", &opts(Durability::None)).unwrap_err();
    assert_eq!(err.code, "ELOOP");
  }

  #[test]
  fn dot_dot_in_a_link_is_resolved_physically() {
    // dir/link -> sub/../x, where sub -> ../elsewhere/deep: the kernel's `sub/..` is
    // `elsewhere`, so the write lands in elsewhere/x, where fs::write would.
    let dir = ScratchDir::new("dotdot");
    fs::create_dir_all(dir.join("elsewhere/deep")).unwrap();
    fs::create_dir(dir.join("dir")).unwrap();
    symlink("../elsewhere/deep", dir.join("dir/sub")).unwrap();
    symlink("sub/../x", dir.join("dir/link")).unwrap();
    write(&dir.join("dir/link"), b"new", &WriteOptions::default()).unwrap();
    assert_eq!(fs::read(dir.join("elsewhere/x")).unwrap(), b"new");
    assert!(!dir.join("dir/x").exists());
  }

  #[test]
  fn exclusive_creation_never_follows_a_dangling_link() {
    let dir = ScratchDir::new("dangling");
    symlink("target", dir.join("link")).unwrap();
    let no_clobber = WriteOptions {
      no_clobber: true,
      ..WriteOptions::default()
    };
    assert!(!create_exclusive(&dir.join("link"), b"x", &WriteOptions::default()).unwrap());
    let err = write(&dir.join("link"), b"x", &no_clobber).unwrap_err();
    assert_eq!(err.code, "EEXIST");
    assert_eq!(dir.names(), vec!["link"]);
  }

  #[test]
  fn a_trailing_slash_or_dot_fails_as_open_does_and_touches_nothing() {
    let dir = ScratchDir::new("trailing");
    fs::write(dir.join("f"), "old").unwrap();
    for (name, suffix, code) in [
      ("f", "/", "EISDIR"),
      ("f", "/.", "ENOTDIR"),
      ("g", "/", "EISDIR"),
      ("g", "/.", "ENOENT"),
      ("missing/g", "/", "ENOENT"),
    ] {
      let err = write(&raw(&dir, name, suffix), b"x", &WriteOptions::default()).unwrap_err();
      assert_eq!(err.code, code, "{name}{suffix}");
      assert_eq!(err.path, Some(raw(&dir, name, suffix)));
    }
    assert_eq!(fs::read(dir.join("f")).unwrap(), b"old");
    assert_eq!(dir.names(), vec!["f"]);
  }

  #[test]
  fn errors_name_the_callers_path_not_the_links_target() {
    let dir = ScratchDir::new("naming");
    symlink("nowhere/x", dir.join("link")).unwrap();
    let err = write(&dir.join("link"), b"x", &WriteOptions::default()).unwrap_err();
    assert_eq!((err.code, err.path), ("ENOENT", Some(dir.join("link"))));
  }
}
