//! Directory flushes shared by concurrent writes into one directory (group commit).
//!
//! A rename is durable once its directory is flushed by an fsync that *started after the
//! rename*. When many threads rename into one directory at once, one such fsync covers
//! them all, instead of one fsync each (each of which is a journal commit on ext4/xfs).
//!
//! Each directory has at most one flush running and one flush *pending* (not started, so
//! it will cover every rename done before it starts). A caller, after its rename, joins the
//! pending flush; if nothing is running it starts that flush itself (with its own
//! directory descriptor; any descriptor of the directory flushes the same inode), else it
//! waits for the running one to end and then either finds its flush done or starts it.
//! A flush that fails fails every caller it covered, none of whom it reports as durable;
//! the next flush is a new attempt with its own outcome.

use std::collections::HashMap;
use std::hash::Hash;
use std::io;
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, OnceLock, PoisonError};

/// The outcome of one flush, as every caller it covered sees it (io::Error is not Clone).
type Outcome = Result<(), (io::ErrorKind, Option<i32>)>;

#[derive(Default)]
struct Flush {
  outcome: OnceLock<Outcome>,
}

struct State {
  running: bool,
  pending: Arc<Flush>,
}

struct Dir {
  state: Mutex<State>,
  ended: Condvar,
}

/// The directories with callers in flight, by key (device and inode on Unix).
pub struct SharedFlushes<K> {
  dirs: Mutex<HashMap<K, Arc<Dir>>>,
}

impl<K: Eq + Hash + Clone> Default for SharedFlushes<K> {
  fn default() -> Self {
    SharedFlushes {
      dirs: Mutex::new(HashMap::new()),
    }
  }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
  // A panic elsewhere must not poison every later write: the state stays consistent
  // (each field is written in one step).
  mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<K: Eq + Hash + Clone> SharedFlushes<K> {
  /// Returns once a flush of directory `key` that started after this call began has
  /// succeeded, running `flush` itself when no other caller's flush can serve.
  pub fn flush(&self, key: &K, flush: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
    let dir = self.enter(key);
    let result = Self::flush_in(&dir, flush);
    self.leave(key, dir);
    result
  }

  fn flush_in(dir: &Dir, flush: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
    let mut state = lock(&dir.state);
    let mine = Arc::clone(&state.pending);
    let mut flush = Some(flush);
    loop {
      if let Some(outcome) = mine.outcome.get() {
        return (*outcome)
          .map_err(|(kind, raw)| raw.map_or_else(|| kind.into(), io::Error::from_raw_os_error));
      }
      if !state.running {
        // `mine` is still the pending flush: only starting it replaces `pending`.
        state.running = true;
        state.pending = Arc::default();
        drop(state);
        let run = flush.take().expect("a caller starts at most one flush");
        let outcome = run().map_err(|err| (err.kind(), err.raw_os_error()));
        let _ = mine.outcome.set(outcome);
        state = lock(&dir.state);
        state.running = false;
        dir.ended.notify_all();
        continue;
      }
      state = dir
        .ended
        .wait(state)
        .unwrap_or_else(PoisonError::into_inner);
    }
  }

  fn enter(&self, key: &K) -> Arc<Dir> {
    let mut dirs = lock(&self.dirs);
    let dir = dirs.entry(key.clone()).or_insert_with(|| {
      Arc::new(Dir {
        state: Mutex::new(State {
          running: false,
          pending: Arc::default(),
        }),
        ended: Condvar::new(),
      })
    });
    Arc::clone(dir)
  }

  /// Forgets a directory nobody is flushing any more (the map and `dir` hold the last two
  /// references; new ones are only taken under the map's lock).
  fn leave(&self, key: &K, dir: Arc<Dir>) {
    let mut dirs = lock(&self.dirs);
    if Arc::strong_count(&dir) == 2 {
      dirs.remove(key);
    }
  }

  #[cfg(test)]
  fn pending_callers(&self, key: &K) -> usize {
    let dirs = lock(&self.dirs);
    dirs
      .get(key)
      .map_or(0, |dir| Arc::strong_count(&lock(&dir.state).pending) - 1)
  }
}

/// Every directory flush of this process's atomic writes.
pub static DIRECTORY_FLUSHES: LazyLock<SharedFlushes<super::platform::DirKey>> =
  LazyLock::new(SharedFlushes::default);

#[cfg(test)]
mod tests {
  use super::*;
  use std::sync::atomic::{AtomicUsize, Ordering};
  use std::sync::mpsc;
  use std::thread;
  use std::time::{Duration, Instant};

  /// Waits (bounded) until `n` callers have joined the pending flush of `key`.
  fn wait_for_pending(flushes: &SharedFlushes<u32>, key: u32, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while flushes.pending_callers(&key) < n {
      assert!(
        Instant::now() < deadline,
        "callers did not join the pending flush"
      );
      thread::yield_now();
    }
  }

  #[test]
  fn callers_arriving_during_a_flush_share_the_next_one() {
    let flushes = Arc::new(SharedFlushes::<u32>::default());
    let runs = Arc::new(AtomicUsize::new(0));
    let (release, gate) = mpsc::channel::<()>();
    let first = {
      let (flushes, runs) = (Arc::clone(&flushes), Arc::clone(&runs));
      thread::spawn(move || {
        flushes.flush(&7, || {
          runs.fetch_add(1, Ordering::SeqCst);
          gate.recv().unwrap();
          Ok(())
        })
      })
    };
    // The first flush is running (it replaced `pending`), so these 8 must not count on it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while runs.load(Ordering::SeqCst) == 0 {
      assert!(Instant::now() < deadline);
      thread::yield_now();
    }
    let later: Vec<_> = (0..8)
      .map(|_| {
        let (flushes, runs) = (Arc::clone(&flushes), Arc::clone(&runs));
        thread::spawn(move || {
          flushes.flush(&7, || {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok(())
          })
        })
      })
      .collect();
    wait_for_pending(&flushes, 7, 8);
    release.send(()).unwrap();
    first.join().unwrap().unwrap();
    for caller in later {
      caller.join().unwrap().unwrap();
    }
    assert_eq!(
      runs.load(Ordering::SeqCst),
      2,
      "one flush for the first, one shared by the 8"
    );
    assert_eq!(flushes.pending_callers(&7), 0, "the directory is forgotten");
  }

  #[test]
  fn a_failed_flush_fails_every_caller_it_covered_and_the_next_one_starts_fresh() {
    let flushes = Arc::new(SharedFlushes::<u32>::default());
    let (release, gate) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    let first = {
      let flushes = Arc::clone(&flushes);
      thread::spawn(move || {
        flushes.flush(&1, || {
          started_tx.send(()).unwrap();
          gate.recv().unwrap();
          Ok(())
        })
      })
    };
    started.recv().unwrap();
    let covered: Vec<_> = (0..4)
      .map(|_| {
        let flushes = Arc::clone(&flushes);
        thread::spawn(move || flushes.flush(&1, || Err(io::Error::from_raw_os_error(5))))
      })
      .collect();
    wait_for_pending(&flushes, 1, 4);
    release.send(()).unwrap();
    first.join().unwrap().unwrap();
    for caller in covered {
      let err = caller.join().unwrap().unwrap_err();
      assert_eq!(
        err.raw_os_error(),
        Some(5),
        "EIO reaches every caller the flush covered"
      );
    }
    flushes.flush(&1, || Ok(())).unwrap();
  }

  #[test]
  fn directories_do_not_share_flushes() {
    let flushes = SharedFlushes::<u32>::default();
    let runs = AtomicUsize::new(0);
    for key in [1, 2, 1] {
      flushes
        .flush(&key, || {
          runs.fetch_add(1, Ordering::SeqCst);
          Ok(())
        })
        .unwrap();
    }
    assert_eq!(runs.load(Ordering::SeqCst), 3);
  }
}
