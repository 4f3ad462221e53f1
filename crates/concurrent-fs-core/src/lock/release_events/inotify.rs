use super::{Released, WatchId};
use rustix::event::{eventfd, poll, EventfdFlags, PollFd, PollFlags, Timespec};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Interrupts [`ReleaseEvents::wait`] from any thread (an eventfd).
#[derive(Clone)]
pub struct Waker(Option<Arc<OwnedFd>>);

impl Waker {
  pub fn wake(&self) {
    if let Some(fd) = &self.0 {
      let _ = rustix::io::write(fd, &1u64.to_ne_bytes());
    }
  }
}

pub struct ReleaseEvents {
  inotify: Option<OwnedFd>,
  wake: Option<Arc<OwnedFd>>,
  /// Watches per inode: inotify hands out one descriptor per inode, shared by waiters.
  refs: HashMap<WatchId, usize>,
}

impl ReleaseEvents {
  /// Never fails: without inotify (or an eventfd) the waiter falls back to polling.
  pub fn new() -> Self {
    let inotify = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK).ok();
    let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)
      .ok()
      .map(Arc::new);
    ReleaseEvents {
      inotify,
      wake,
      refs: HashMap::new(),
    }
  }

  pub fn waker(&self) -> Waker {
    Waker(self.wake.clone())
  }

  /// `None` when the file cannot be watched (watch limit, a filesystem without inotify):
  /// the waiter is then polled.
  pub fn watch(&mut self, path: &Path) -> Option<WatchId> {
    let fd = self.inotify.as_ref()?;
    let flags = WatchFlags::CLOSE_WRITE | WatchFlags::CLOSE_NOWRITE | WatchFlags::DELETE_SELF;
    let wd = inotify::add_watch(fd, path, flags).ok()?;
    *self.refs.entry(wd).or_default() += 1;
    Some(wd)
  }

  pub fn unwatch(&mut self, wd: WatchId) {
    let Some(count) = self.refs.get_mut(&wd) else {
      return;
    };
    *count -= 1;
    if *count == 0 {
      self.refs.remove(&wd);
      if let Some(fd) = &self.inotify {
        let _ = inotify::remove_watch(fd, wd);
      }
    }
  }

  /// Sleeps until a watched file is closed, the waker fires, or `timeout` passes.
  pub fn wait(&mut self, timeout: Option<Duration>) -> Released {
    let (Some(inotify), Some(wake)) = (&self.inotify, &self.wake) else {
      std::thread::sleep(timeout.unwrap_or(Duration::from_millis(10)));
      return Released::default();
    };
    let timeout = timeout.map(|t| {
      Timespec::try_from(t).unwrap_or(Timespec {
        tv_sec: i64::MAX,
        tv_nsec: 0,
      })
    });
    let mut fds = [
      PollFd::new(inotify, PollFlags::IN),
      PollFd::new(&**wake, PollFlags::IN),
    ];
    if poll(&mut fds, timeout.as_ref()).is_err() {
      return Released::default(); // EINTR: the caller simply loops
    }
    if !fds[1].revents().is_empty() {
      let mut buf = [0u8; 8];
      let _ = rustix::io::read(&**wake, &mut buf);
    }
    if fds[0].revents().is_empty() {
      return Released::default();
    }
    drain(inotify)
  }
}

fn drain(fd: &OwnedFd) -> Released {
  let mut released = Released::default();
  let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
  let mut reader = inotify::Reader::new(fd, &mut buf);
  // Ends with EAGAIN once the (non-blocking) queue is empty.
  while let Ok(event) = reader.next() {
    if event.events().contains(ReadFlags::QUEUE_OVERFLOW) {
      released.all = true;
    } else {
      released.watches.push(event.wd());
    }
  }
  released
}
