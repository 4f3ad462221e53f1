use super::*;
use crate::test_util::ScratchDir;
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn exclusive(path: &Path) -> Option<HeldLock> {
  try_lock(path, LockKind::Exclusive).unwrap()
}

fn shared(path: &Path) -> Option<HeldLock> {
  try_lock(path, LockKind::Shared).unwrap()
}

/// A handle on `a.lock` that has held and released with nobody waiting: it keeps its descriptor.
fn kept_handle(label: &str) -> (ScratchDir, PathBuf, LockHandle) {
  let (dir, path) = ScratchDir::with_path(label, "a.lock");
  let mut handle = LockHandle::new(path.clone(), LockKind::Exclusive);
  assert!(handle.try_lock().unwrap());
  handle.release();
  assert!(handle.is_open(), "nobody waits: the descriptor is kept");
  (dir, path, handle)
}

/// A wait's outcome and when it arrived.
type Timed = (Result<WaitOutcome>, Instant);

/// An exclusive wait for `path`, forever; its outcome arrives on the receiver.
fn wait_for(path: &Path) -> (WaitHandle, mpsc::Receiver<Timed>) {
  let (tx, rx) = mpsc::channel();
  (wait_sending(path, tx), rx)
}

/// An exclusive wait for `path`, forever, that sends its outcome to `tx`.
fn wait_sending(path: &Path, tx: mpsc::Sender<Timed>) -> WaitHandle {
  lock_async(
    path.to_path_buf(),
    LockKind::Exclusive,
    None,
    move |outcome| {
      tx.send((outcome, Instant::now())).unwrap();
    },
  )
}

/// The lock a wait was handed within `within`, and when; panics on any other outcome.
fn acquired(rx: &mpsc::Receiver<Timed>, within: Duration) -> (HeldLock, Instant) {
  let (outcome, at) = rx.recv_timeout(within).unwrap();
  let Ok(WaitOutcome::Acquired(held)) = outcome else {
    panic!("{outcome:?}")
  };
  (held, at)
}

#[test]
fn two_opens_in_one_process_exclude_each_other() {
  let (_dir, path) = ScratchDir::with_path("lock-excl", "a.lock");
  let held = exclusive(&path).expect("free lock");
  assert!(exclusive(&path).is_none());
  assert!(shared(&path).is_none());
  drop(held);
  assert!(exclusive(&path).is_some());
}

#[test]
fn shared_locks_coexist_and_exclude_exclusive() {
  let (_dir, path) = ScratchDir::with_path("lock-shared", "a.lock");
  let mut readers = vec![shared(&path).unwrap(), shared(&path).unwrap()];
  assert!(exclusive(&path).is_none());
  readers.pop();
  assert!(exclusive(&path).is_none(), "one reader still holds");
  readers.clear();
  assert!(exclusive(&path).is_some());
}

#[test]
fn the_lock_file_is_created_and_never_deleted() {
  let (_dir, path) = ScratchDir::with_path("lock-file", "a.lock");
  drop(exclusive(&path).unwrap());
  assert!(path.exists());
}

#[test]
fn a_missing_directory_is_enoent() {
  let dir = ScratchDir::new("lock-enoent");
  let err = try_lock(&dir.join("missing/a.lock"), LockKind::Exclusive).unwrap_err();
  assert_eq!((err.code, err.syscall), ("ENOENT", "open"));
}

#[test]
fn blocking_wait_times_out_then_succeeds_after_release() {
  let (_dir, path) = ScratchDir::with_path("lock-timeout", "a.lock");
  let held = exclusive(&path).unwrap();
  let start = Instant::now();
  assert!(
    lock_blocking(&path, LockKind::Exclusive, Some(Duration::from_millis(50)))
      .unwrap()
      .is_none()
  );
  let waited = start.elapsed();
  assert!(waited >= Duration::from_millis(50), "{waited:?}");
  assert!(
    lock_blocking(&path, LockKind::Exclusive, Some(Duration::ZERO))
      .unwrap()
      .is_none()
  );
  drop(held);
  assert!(
    lock_blocking(&path, LockKind::Exclusive, Some(Duration::ZERO))
      .unwrap()
      .is_some()
  );
}

#[test]
fn async_wait_is_handed_the_lock_on_release() {
  let (_dir, path) = ScratchDir::with_path("lock-handover", "a.lock");
  let mut latencies = Vec::new();
  for _ in 0..20 {
    let held = exclusive(&path).unwrap();
    let (_wait, rx) = wait_for(&path);
    // Give the waiter time to register, so the release is a real handover.
    assert!(rx.recv_timeout(Duration::from_millis(30)).is_err());
    let released = Instant::now();
    drop(held);
    let (_, at) = acquired(&rx, Duration::from_secs(30));
    latencies.push(at - released);
  }
  latencies.sort();
  // The safety-net poll is 20 ms: a median well under it shows the close event did the work.
  assert!(
    latencies[10] < Duration::from_millis(5),
    "median handover {:?}",
    latencies[10]
  );
}

#[test]
fn cancel_ends_a_wait_without_the_lock() {
  let (_dir, path) = ScratchDir::with_path("lock-cancel", "a.lock");
  let _held = exclusive(&path).unwrap();
  let (wait, rx) = wait_for(&path);
  wait.cancel();
  assert!(matches!(rx.recv().unwrap().0, Ok(WaitOutcome::Cancelled)));
}

#[test]
fn many_waiters_each_get_the_lock_once() {
  let (_dir, path) = ScratchDir::with_path("lock-many", "a.lock");
  let held = exclusive(&path).unwrap();
  let (tx, rx) = mpsc::channel();
  let _waits: Vec<_> = (0..8).map(|_| wait_sending(&path, tx.clone())).collect();
  drop(held);
  for _ in 0..8 {
    let (lock, _) = acquired(&rx, Duration::from_secs(10)); // every waiter is served
    assert!(
      exclusive(&path).is_none(),
      "the lock is exclusive while a waiter holds it"
    );
    drop(lock);
  }
}

#[test]
fn a_lock_on_a_deleted_file_is_never_reported_held() {
  let (_dir, path) = ScratchDir::with_path("lock-deleted", "a.lock");
  let old = file::open(&path).unwrap();
  std::fs::remove_file(&path).unwrap();
  let newcomer = exclusive(&path).expect("the new file is free");
  // The old inode's flock is free, but it is no longer the lock at `path`.
  assert_eq!(
    file::try_on(&old, LockKind::Exclusive).unwrap(),
    file::Attempt::Moved
  );
  drop(newcomer);
}

#[test]
fn a_waiter_on_a_deleted_lock_file_waits_for_the_new_file() {
  let (_dir, path) = ScratchDir::with_path("lock-deleted-waiter", "a.lock");
  let first = exclusive(&path).unwrap();
  let (_wait, rx) = wait_for(&path);
  // The first holder deletes its lock file (as store.delete does), then a newcomer
  // locks the new file at the path.
  std::fs::remove_file(&path).unwrap();
  let newcomer = exclusive(&path).expect("the new file is free");
  drop(first);
  // Released: the waiter sees the close, takes the old inode, finds it moved and
  // waits on the newcomer's file instead of holding beside it.
  assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
  drop(newcomer);
  let (held, _) = acquired(&rx, Duration::from_secs(10));
  assert!(
    exclusive(&path).is_none(),
    "the waiter holds the file at the path"
  );
  drop(held);
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_blocking() {
  let (_dir, path) = ScratchDir::with_path("lock-fifo", "a.lock");
  crate::test_util::make_fifo(&path, 0o644);
  let err = try_lock(&path, LockKind::Exclusive).unwrap_err();
  assert_eq!((err.code, err.syscall), ("EINVAL", "open"));
}

#[cfg(target_os = "linux")]
#[test]
fn a_live_fallback_marker_excludes_and_a_shared_one_admits_readers() {
  let (dir, path) = ScratchDir::with_path("lock-marker", "a.lock");
  let marker = dir.join(".a.lock.js-holder");
  let me = std::fs::read_to_string("/proc/self/stat").unwrap();
  let start = me[me.rfind(')').unwrap() + 2..]
    .split(' ')
    .nth(19)
    .unwrap()
    .to_owned();
  let write_marker = |shared: bool| {
    let text = format!(
      r#"{{"pid":{},"host":"{}","start":"proc:{}","boot":{},"pidNs":"{}","token":"t","shared":{}}}"#,
      std::process::id(),
      rustix::system::uname().nodename().to_string_lossy(),
      start,
      serde_json::to_string(
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
          .unwrap()
          .trim()
      )
      .unwrap(),
      std::fs::read_link("/proc/self/ns/pid").unwrap().display(),
      shared,
    );
    std::fs::write(&marker, text).unwrap();
  };
  write_marker(false);
  assert!(exclusive(&path).is_none());
  assert!(shared(&path).is_none());
  write_marker(true);
  assert!(exclusive(&path).is_none());
  assert!(shared(&path).is_some());
  std::fs::remove_file(&marker).unwrap();
  assert!(exclusive(&path).is_some());
}

#[cfg(target_os = "linux")]
#[test]
fn a_symlinked_lock_path_looks_for_markers_beside_the_real_file() {
  let dir = ScratchDir::new("lock-marker-link");
  std::fs::create_dir(dir.join("real")).unwrap();
  let link = dir.join("a.lock");
  std::os::unix::fs::symlink("real/b.lock", &link).unwrap();
  std::fs::write(dir.join("real/.b.lock.js-holder"), "not a marker").unwrap();
  let lock = file::open(&link).unwrap();
  assert!(format!("{lock:?}").contains("real/.b.lock.js-holder"));
}

#[test]
fn a_handle_keeps_its_descriptor_between_holds_and_closes_it_for_a_waiter() {
  let (_dir, path, mut handle) = kept_handle("lock-handle");
  assert!(exclusive(&path).is_some(), "and the lock is free");
  let mut latencies = Vec::new();
  for _ in 0..10 {
    assert!(handle.try_lock().unwrap());
    let (_wait, rx) = wait_for(&path);
    // Give the waiter time to announce itself, so the release is a real handover.
    assert!(rx.recv_timeout(Duration::from_millis(30)).is_err());
    let released = Instant::now();
    handle.release();
    assert!(
      !handle.is_open(),
      "a waiter announced itself: the release closes"
    );
    let (held, at) = acquired(&rx, Duration::from_secs(30));
    latencies.push(at - released);
    assert!(!handle.try_lock().unwrap(), "the waiter holds it now");
    drop(held);
  }
  latencies.sort();
  println!(
    "handover after a release that closed: median {:?}",
    latencies[5]
  );
}

#[test]
fn a_won_wait_withdraws_its_announcement() {
  let (_dir, path) = ScratchDir::with_path("lock-withdraw", "a.lock");
  let mut first = LockHandle::new(path.clone(), LockKind::Exclusive);
  assert!(first.try_lock().unwrap());
  let (_wait, rx) = wait_for(&path);
  assert!(rx.recv_timeout(Duration::from_millis(30)).is_err());
  first.release();
  let (held, _) = acquired(&rx, Duration::from_secs(30)); // the waiter gets the lock
  let mut second = LockHandle::new(path.clone(), LockKind::Exclusive);
  second.adopt(held);
  second.release();
  assert!(second.is_open(), "the winner no longer counts as a waiter");
}

#[test]
fn a_handle_whose_lock_file_was_replaced_locks_the_new_file() {
  let (_dir, path, mut handle) = kept_handle("lock-handle-moved");
  // Deleted and recreated between holds: the kept descriptor is of the old file.
  std::fs::remove_file(&path).unwrap();
  let newcomer = exclusive(&path).expect("the new file is free");
  assert!(
    !handle.try_lock().unwrap(),
    "the newcomer's file is the lock now"
  );
  drop(newcomer);
  assert!(handle.try_lock().unwrap());
  assert!(exclusive(&path).is_none(), "held on the file at the path");
}

#[test]
fn acquire_settles_a_free_lock_and_a_zero_timeout_without_waiting() {
  let dir = ScratchDir::new("lock-acquire");
  let path = dir.join("a.lock");
  let mut handle = LockHandle::new(path.clone(), LockKind::Exclusive);
  assert!(matches!(handle.acquire(None), Ok(Acquire::Settled(true))));
  handle.release();
  let holder = exclusive(&path).unwrap();
  let busy = handle.acquire(Some(Duration::ZERO));
  assert!(matches!(busy, Ok(Acquire::Settled(false))), "{busy:?}");
  assert!(
    handle.is_open(),
    "one try: the descriptor stays for the next"
  );
  assert!(matches!(
    handle.acquire(Some(Duration::from_millis(1))),
    Ok(Acquire::Waiting(_))
  ));
  drop(holder);
}

/// The descriptor number of a handle's open lock file, read from its `Debug` (std's
/// `File` shows its `fd`), so that the test needs no accessor in the product.
#[cfg(unix)]
fn descriptor_of(handle: &LockHandle) -> i32 {
  let shown = format!("{handle:?}");
  let digits = shown.split("fd: ").nth(1).expect("an open lock file");
  let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap();
  digits[..end].parse().unwrap()
}

/// A lock file held by someone else, and a handle on it.
fn contended(name: &str) -> (ScratchDir, PathBuf, HeldLock, LockHandle) {
  let dir = ScratchDir::new(name);
  let path = dir.join("a.lock");
  let holder = exclusive(&path).unwrap();
  let handle = LockHandle::new(path.clone(), LockKind::Exclusive);
  (dir, path, holder, handle)
}

/// The wait an acquire of a busy lock returns.
fn must_wait(handle: &mut LockHandle, timeout: Option<Duration>) -> Wait {
  match handle.acquire(timeout) {
    Ok(Acquire::Waiting(wait)) => wait,
    other => panic!("the lock is busy: {other:?}"),
  }
}

#[cfg(unix)]
#[test]
fn a_contended_acquire_opens_the_lock_file_once() {
  let (_dir, _path, holder, mut handle) = contended("lock-acquire-once");
  assert!(!handle.try_lock().unwrap());
  let tried = descriptor_of(&handle);
  let wait = must_wait(&mut handle, None);
  assert!(!handle.is_open(), "the wait took the handle's lock file");
  let (tx, rx) = mpsc::channel();
  let _wait = wait.submit(move |outcome| tx.send(outcome).unwrap());
  drop(holder);
  let outcome = rx.recv_timeout(Duration::from_secs(30)).unwrap();
  let Ok(WaitOutcome::Acquired(held)) = outcome else {
    panic!("{outcome:?}")
  };
  // Had the waiter opened the file itself, the handle's descriptor (still open then)
  // would have kept this number from it.
  assert_eq!(held.raw_fd(), tried, "the wait locked the descriptor tried");
  handle.adopt(held);
  assert_eq!(descriptor_of(&handle), tried);
}

#[test]
fn a_wait_handed_a_deleted_lock_file_waits_for_the_new_file() {
  let (_dir, path, first, mut handle) = contended("lock-acquire-deleted");
  let wait = must_wait(&mut handle, Some(Duration::from_millis(50)));
  // The wait holds the old file; it is deleted and a newcomer locks the new one, then
  // the old one is released: its lock is free, but it is not the lock at the path.
  std::fs::remove_file(&path).unwrap();
  let newcomer = exclusive(&path).expect("the new file is free");
  drop(first);
  let (tx, rx) = mpsc::channel();
  let _wait = wait.submit(move |outcome| tx.send(outcome).unwrap());
  let outcome = rx.recv_timeout(Duration::from_secs(30)).unwrap();
  assert!(matches!(outcome, Ok(WaitOutcome::TimedOut)), "{outcome:?}");
  drop(newcomer);
  assert!(matches!(handle.acquire(None), Ok(Acquire::Settled(true))));
  assert!(exclusive(&path).is_none(), "held on the file at the path");
}
