//! The process's one lock-waiting thread (design in the module docs of `lock`).
//!
//! Other threads talk to it through a command queue and a [`Waker`]; it owns every
//! pending wait, retries the ones whose lock file saw a release (or whose poll is due),
//! expires the ones past their deadline, and reports each outcome exactly once.

use super::file::{self, Attempt, HeldLock, LockFile};
use super::release_events::{ReleaseEvents, Released, Waker, WatchId};
use super::{LockKind, WaitOutcome};
use crate::error::Result;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

type Done = Box<dyn FnOnce(Result<WaitOutcome>) + Send>;

/// Safety-net poll for watched files (releases without a close event), and the poll
/// for files that cannot be watched.
const WATCHED_POLL: (Duration, Duration) = (Duration::from_millis(20), Duration::from_millis(250));
const UNWATCHED_POLL: (Duration, Duration) = (Duration::from_millis(1), Duration::from_millis(16));

enum Command {
  Wait { id: u64, wait: Wait, done: Done },
  Cancel(u64),
}

/// A wait not yet handed to the waiter thread (see `LockHandle::acquire`).
/// [`Wait::submit`] hands it over; dropping it instead closes its lock file.
#[derive(Debug)]
pub struct Wait {
  lock: LockSource,
  kind: LockKind,
  deadline: Option<Instant>,
}

/// What a wait locks: the file its caller's failed try opened, so that a contended
/// acquire opens the lock file once, or a path, when the caller has no open file.
#[derive(Debug)]
enum LockSource {
  Open(LockFile),
  Path(PathBuf),
}

impl LockSource {
  fn open(self) -> Result<LockFile> {
    match self {
      LockSource::Open(lock) => Ok(lock),
      LockSource::Path(path) => file::open(&path),
    }
  }
}

static COMMANDS: Mutex<Vec<Command>> = Mutex::new(Vec::new());
static WAKER: OnceLock<Waker> = OnceLock::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A pending wait; [`WaitHandle::cancel`] ends it with `WaitOutcome::Cancelled` unless
/// it already ended.
#[derive(Debug)]
pub struct WaitHandle {
  id: u64,
}

impl WaitHandle {
  pub fn cancel(&self) {
    send(Command::Cancel(self.id));
  }
}

impl Wait {
  /// A wait on `lock`, an open lock file (its first try on the waiter thread follows
  /// the announcement, see [`begin`]), or on `path` when `lock` is `None`. `timeout` of
  /// `None` waits forever.
  pub(super) fn new(
    lock: Option<LockFile>,
    path: PathBuf,
    kind: LockKind,
    timeout: Option<Duration>,
  ) -> Self {
    Wait {
      lock: lock.map_or(LockSource::Path(path), LockSource::Open),
      kind,
      deadline: timeout.and_then(|t| Instant::now().checked_add(t)),
    }
  }

  /// Hands the wait to the waiter thread; `done` runs there when it ends.
  pub fn submit<F>(self, done: F) -> WaitHandle
  where
    F: FnOnce(Result<WaitOutcome>) + Send + 'static,
  {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    send(Command::Wait {
      id,
      wait: self,
      done: Box::new(done),
    });
    WaitHandle { id }
  }

  /// Waits on the waiter thread with the calling thread parked; `Ok(None)` when the
  /// timeout passed first.
  pub fn blocking(self) -> Result<Option<HeldLock>> {
    let (tx, rx) = mpsc::channel();
    let _handle = self.submit(move |outcome| {
      let _ = tx.send(outcome);
    });
    match rx.recv() {
      Ok(Ok(WaitOutcome::Acquired(held))) => Ok(Some(held)),
      Ok(Ok(WaitOutcome::TimedOut | WaitOutcome::Cancelled)) => Ok(None),
      Ok(Err(err)) => Err(err),
      Err(mpsc::RecvError) => unreachable!("the waiter thread always reports an outcome"),
    }
  }
}

fn send(command: Command) {
  let waker = WAKER.get_or_init(start_thread);
  COMMANDS
    .lock()
    .unwrap_or_else(|e| e.into_inner())
    .push(command);
  waker.wake();
}

fn start_thread() -> Waker {
  let events = ReleaseEvents::new();
  let waker = events.waker();
  std::thread::Builder::new()
    .name("cfs-lock-waiter".into())
    .spawn(move || run(events))
    .expect("cannot start the lock waiter thread");
  waker
}

struct Pending {
  id: u64,
  kind: LockKind,
  lock: LockFile,
  deadline: Option<Instant>,
  watch: Option<WatchId>,
  next_poll: Instant,
  poll_interval: Duration,
  done: Done,
}

impl Pending {
  fn poll_cap(&self) -> Duration {
    if self.watch.is_some() {
      WATCHED_POLL.1
    } else {
      UNWATCHED_POLL.1
    }
  }

  fn expired(&self, now: Instant) -> bool {
    self.deadline.is_some_and(|deadline| now >= deadline)
  }
}

fn run(mut events: ReleaseEvents) {
  let mut pending: Vec<Pending> = Vec::new();
  loop {
    // A panic in one round must not end the thread: every pending wait (and every later
    // one) would then never settle. The round is simply run again.
    let _ = catch_unwind(AssertUnwindSafe(|| run_once(&mut events, &mut pending)));
  }
}

/// Takes new commands, sleeps until something may have changed, then settles waits.
fn run_once(events: &mut ReleaseEvents, pending: &mut Vec<Pending>) {
  take_commands(events, pending);
  let released = events.wait(time_to_next_check(pending));
  retry(events, pending, &released);
}

fn take_commands(events: &mut ReleaseEvents, pending: &mut Vec<Pending>) {
  let commands = std::mem::take(&mut *COMMANDS.lock().unwrap_or_else(|e| e.into_inner()));
  for command in commands {
    match command {
      Command::Wait { id, wait, done } => {
        if let Some(wait) = begin(events, id, wait, done) {
          pending.push(wait);
        }
      }
      Command::Cancel(id) => {
        if let Some(index) = pending.iter().position(|p| p.id == id) {
          let wait = pending.swap_remove(index);
          finish(events, wait, Ok(WaitOutcome::Cancelled));
        }
      }
    }
  }
}

/// Tries the waits whose lock file saw a release or whose poll is due, and ends those
/// that got the lock, failed, or are past their deadline.
fn retry(events: &mut ReleaseEvents, pending: &mut Vec<Pending>, released: &Released) {
  let now = Instant::now();
  let mut index = 0;
  while index < pending.len() {
    let wait = &mut pending[index];
    let signalled = released.all || wait.watch.is_some_and(|w| released.watches.contains(&w));
    let poll_due = now >= wait.next_poll;
    let found = if signalled || poll_due || wait.expired(now) {
      attempt(events, wait)
    } else {
      Ok(Attempt::Busy)
    };
    match ending(found, wait.expired(now)) {
      None => {
        if poll_due {
          wait.poll_interval = (wait.poll_interval * 2).min(wait.poll_cap());
          wait.next_poll = now + wait.poll_interval;
        }
        index += 1;
      }
      Some(outcome) => {
        let wait = pending.swap_remove(index);
        finish(events, wait, outcome);
      }
    }
  }
}

/// What an attempt means for its wait: `None` while it goes on. The outcome names no
/// lock yet (`Acquired(())`): [`finish`] turns the wait's lock file into the held lock.
fn ending(found: Result<Attempt>, expired: bool) -> Option<Result<WaitOutcome<()>>> {
  match found {
    Ok(Attempt::Held) => Some(Ok(WaitOutcome::Acquired(()))),
    Ok(Attempt::Busy | Attempt::Moved) if expired => Some(Ok(WaitOutcome::TimedOut)),
    Ok(Attempt::Busy | Attempt::Moved) => None,
    Err(err) => Some(Err(err)),
  }
}

/// Tries the lock; when the file locked is no longer the one at the path (see
/// `identity`), opens and watches the new one and tries that, so a deleted lock file
/// never hands a waiter a lock nobody else can see.
fn attempt(events: &mut ReleaseEvents, wait: &mut Pending) -> Result<Attempt> {
  for _ in 0..file::MAX_MOVES {
    match file::try_on(&wait.lock, wait.kind)? {
      Attempt::Moved => reopen(events, wait)?,
      found => return Ok(found),
    }
  }
  Ok(Attempt::Moved)
}

fn reopen(events: &mut ReleaseEvents, wait: &mut Pending) -> Result<()> {
  let lock = file::open(wait.lock.path())?;
  lock.announce();
  if let Some(watch) = wait.watch.take() {
    events.unwatch(watch);
  }
  wait.watch = events.watch(lock.path());
  wait.lock = lock;
  Ok(())
}

/// Opens the lock file unless the caller's is given, announces the wait, watches the
/// file, then tries once: the announcement and the watch come first so that a release
/// between a failed try (the caller's, or this one) and them cannot be missed (see
/// "Releasing" in the module docs of `lock`).
fn begin(events: &mut ReleaseEvents, id: u64, wait: Wait, done: Done) -> Option<Pending> {
  let Wait {
    lock,
    kind,
    deadline,
  } = wait;
  let lock = match lock.open() {
    Ok(lock) => lock,
    Err(err) => {
      report(done, Err(err));
      return None;
    }
  };
  lock.announce();
  let watch = events.watch(lock.path());
  let interval = if watch.is_some() {
    WATCHED_POLL.0
  } else {
    UNWATCHED_POLL.0
  };
  let mut wait = Pending {
    id,
    lock,
    kind,
    deadline,
    watch,
    next_poll: Instant::now() + interval,
    poll_interval: interval,
    done,
  };
  let found = attempt(events, &mut wait);
  match ending(found, wait.expired(Instant::now())) {
    None => Some(wait),
    Some(outcome) => {
      finish(events, wait, outcome);
      None
    }
  }
}

/// Ends a wait and reports its outcome; an acquired wait hands over its lock file.
fn finish(events: &mut ReleaseEvents, wait: Pending, outcome: Result<WaitOutcome<()>>) {
  if let Some(watch) = wait.watch {
    events.unwatch(watch);
  }
  let lock = wait.lock;
  let outcome = outcome.map(|ended| {
    ended.map(|()| {
      lock.withdraw();
      lock.into_held()
    })
  });
  report(wait.done, outcome);
}

/// Runs a completion; a panic in one must not take the waiter thread (and every other
/// pending wait) down with it.
fn report(done: Done, outcome: Result<WaitOutcome>) {
  let _ = catch_unwind(AssertUnwindSafe(|| done(outcome)));
}

fn time_to_next_check(pending: &[Pending]) -> Option<Duration> {
  let now = Instant::now();
  pending
    .iter()
    .flat_map(|p| std::iter::once(p.next_poll).chain(p.deadline))
    .min()
    .map(|next| next.saturating_duration_since(now))
}
