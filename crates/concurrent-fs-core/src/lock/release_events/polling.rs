use super::{Released, WatchId};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Interrupts [`ReleaseEvents::wait`] from any thread.
#[derive(Clone)]
pub struct Waker(Arc<(Mutex<bool>, Condvar)>);

impl Waker {
  pub fn wake(&self) {
    let (flag, condvar) = &*self.0;
    *flag.lock().unwrap_or_else(|e| e.into_inner()) = true;
    condvar.notify_one();
  }
}

/// No release signal on this platform: every waiter is polled.
pub struct ReleaseEvents {
  waker: Waker,
}

impl ReleaseEvents {
  pub fn new() -> Self {
    ReleaseEvents {
      waker: Waker(Arc::new((Mutex::new(false), Condvar::new()))),
    }
  }

  pub fn waker(&self) -> Waker {
    self.waker.clone()
  }

  pub fn watch(&mut self, _path: &Path) -> Option<WatchId> {
    None
  }

  pub fn unwatch(&mut self, _wd: WatchId) {}

  pub fn wait(&mut self, timeout: Option<Duration>) -> Released {
    let (flag, condvar) = &*self.waker.0;
    let mut woken = flag.lock().unwrap_or_else(|e| e.into_inner());
    if !*woken {
      woken = match timeout {
        Some(t) => {
          condvar
            .wait_timeout(woken, t)
            .unwrap_or_else(|e| e.into_inner())
            .0
        }
        None => condvar.wait(woken).unwrap_or_else(|e| e.into_inner()),
      };
    }
    *woken = false;
    Released::default()
  }
}
