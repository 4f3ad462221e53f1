//! Holders that take no kernel lock: the pure-JS fallback's processes (Linux only).
//!
//! Pure JavaScript cannot call `flock`, so a fallback process holds a lock by publishing
//! a marker file beside the lock file, `.<lock file name>.js-holder`, naming itself
//! (JSON: pid, host, start, boot, pidNs, token, shared). For a native and a fallback
//! process on one lock path to exclude each other, both follow "claim, then check the
//! other side":
//!
//! - native: take the `flock`, then look for a live marker; if there is one, unlock and
//!   keep waiting;
//! - fallback: publish its marker, then look for a conflicting `flock` on the lock file's
//!   inode in `/proc/locks`; if there is one, remove its marker and keep waiting.
//!
//! Whichever claims second sees the first's claim (each checks after claiming), so the
//! two can never both hold; at worst both back off and retry. Only Linux gives pure JS a
//! view of kernel locks (`/proc/locks`), so only there is the protocol two-sided, and only
//! there does native look for markers. The fallback wakes native waiters by opening and
//! closing the lock file after removing its marker (an inotify `IN_CLOSE`).
//!
//! Native never removes a marker, live or stale: breaking stale markers is the fallback's
//! own protocol. It only ignores markers whose holder is provably gone (same rules as the
//! fallback's `owner.ts`: same host and PID namespace, and the pid is gone, a zombie, or a
//! newer process with another start time, or the machine rebooted since).

use super::LockKind;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Markers are tiny; reading more than this is reading something that is not one.
const MAX_MARKER_BYTES: usize = 4096;

/// Where a fallback holder of the lock file `resolved` (symlinks followed) puts its
/// marker: `.<name>.js-holder`, or, when that (with the `.break` file a breaker makes
/// beside it) would not fit in a 255-byte name, `.cfs-<FNV-1a 64 of the name>.js-holder`.
/// The fallback computes the same (`ts/js/lock/lock-file.ts`).
pub fn marker_path(resolved: &Path) -> PathBuf {
  let name = resolved.file_name().unwrap_or_default();
  let mut plain = OsString::from(".");
  plain.push(name);
  plain.push(".js-holder");
  if plain.len() <= MAX_MARKER_NAME_BYTES {
    return resolved.with_file_name(plain);
  }
  let hash = fnv1a64(name.as_encoded_bytes());
  resolved.with_file_name(format!(".cfs-{hash:016x}.js-holder"))
}

/// 255 minus what breakers append (`.` before, `.break` after).
const MAX_MARKER_NAME_BYTES: usize = 248;

fn fnv1a64(bytes: &[u8]) -> u64 {
  bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
    (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
  })
}

/// True when a live fallback process holds a lock that conflicts with `kind`.
pub fn holds(marker: &Path, kind: LockKind) -> bool {
  // The common case is no marker: one failed access(2), which costs half a failed
  // open(2) (no file is allocated for it).
  if rustix::fs::access(marker, rustix::fs::Access::EXISTS) == Err(rustix::io::Errno::NOENT) {
    return false;
  }
  let Ok(bytes) = read_small(marker) else {
    return false;
  };
  let Some(owner) = Owner::parse(&bytes) else {
    // Not a marker (or one torn by a power cut): not a holder.
    return false;
  };
  let conflicts = kind == LockKind::Exclusive || !owner.shared;
  conflicts && !owner.is_gone()
}

fn read_small(path: &Path) -> std::io::Result<Vec<u8>> {
  use std::io::Read;
  let mut bytes = Vec::new();
  std::fs::File::open(path)?
    .take(MAX_MARKER_BYTES as u64)
    .read_to_end(&mut bytes)?;
  Ok(bytes)
}

/// What a marker says about its holder.
struct Owner {
  pid: i32,
  host: String,
  start: String,
  boot: Option<String>,
  pid_ns: Option<String>,
  shared: bool,
}

impl Owner {
  fn parse(bytes: &[u8]) -> Option<Owner> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    let pid = value.get("pid")?.as_i64()?;
    Some(Owner {
      // A pid of 0 or below would make kill(pid, 0) probe a process group.
      pid: i32::try_from(pid).ok().filter(|pid| *pid > 0)?,
      host: text("host")?,
      start: text("start")?,
      boot: text("boot"),
      pid_ns: text("pidNs"),
      shared: value.get("shared").and_then(|v| v.as_bool()) == Some(true),
    })
  }

  /// One-sided, like the fallback's: gone only when provably gone.
  fn is_gone(&self) -> bool {
    let me = this_process();
    if self.host != me.host || self.pid_ns != me.pid_ns {
      return false;
    }
    if let (Some(theirs), Some(ours)) = (&self.boot, &me.boot) {
      if theirs != ours {
        return true;
      }
    }
    if self.pid == me.pid {
      return self.start != me.start;
    }
    match proc_stat(self.pid) {
      None => !pid_exists(self.pid),
      Some(stat) if matches!(stat.state, 'Z' | 'X' | 'x') => true,
      Some(stat) => self.start != format!("proc:{}", stat.start_ticks),
    }
  }
}

struct ThisProcess {
  pid: i32,
  host: String,
  start: String,
  boot: Option<String>,
  pid_ns: Option<String>,
}

fn this_process() -> &'static ThisProcess {
  static ME: OnceLock<ThisProcess> = OnceLock::new();
  ME.get_or_init(|| {
    let pid = rustix::process::getpid().as_raw_nonzero().get();
    let start = proc_stat(pid).map_or_else(String::new, |s| format!("proc:{}", s.start_ticks));
    ThisProcess {
      pid,
      host: rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned(),
      start,
      boot: std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_owned()),
      pid_ns: std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .map(|p| p.to_string_lossy().into_owned()),
    }
  })
}

struct ProcStat {
  state: char,
  start_ticks: String,
}

/// Fields of `/proc/<pid>/stat` after the command name (which may hold spaces and ')').
fn proc_stat(pid: i32) -> Option<ProcStat> {
  let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
  let rest = stat.get(stat.rfind(')')? + 2..)?;
  let mut fields = rest.split(' ');
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
  let state = fields.next()?.chars().next()?;
  let start_ticks = fields.nth(18)?.to_owned();
  Some(ProcStat { state, start_ticks })
}

fn pid_exists(pid: i32) -> bool {
  let Some(pid) = rustix::process::Pid::from_raw(pid) else {
    return false;
  };
  !matches!(
    rustix::process::test_kill_process(pid),
    Err(rustix::io::Errno::SRCH)
  )
}

#[cfg(test)]
mod tests {
  use super::*;

  fn marker_for(pid: i32, start: &str, shared: bool) -> String {
    let me = this_process();
    serde_json::json!({
      "pid": pid, "host": me.host, "start": start, "boot": me.boot, "pidNs": me.pid_ns,
      "token": "t", "shared": shared,
    })
    .to_string()
  }

  #[test]
  fn the_marker_sits_beside_the_lock_file() {
    assert_eq!(
      marker_path(Path::new("/d/a.lock")),
      Path::new("/d/.a.lock.js-holder")
    );
    // Too long for the plain form: a hash of the name (the fallback computes the same).
    let long = format!("/d/{}.lock", "c".repeat(240));
    let hash = fnv1a64(&long.as_bytes()[3..]);
    assert_eq!(
      marker_path(Path::new(&long)),
      Path::new("/d").join(format!(".cfs-{hash:016x}.js-holder"))
    );
    // FNV-1a 64's published value for "a".
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
  }

  #[test]
  fn a_live_holder_is_a_holder_and_a_dead_one_is_not() {
    let me = this_process();
    let live = Owner::parse(marker_for(me.pid, &me.start, false).as_bytes()).unwrap();
    assert!(!live.is_gone());
    let reused = Owner::parse(marker_for(me.pid, "proc:1", false).as_bytes()).unwrap();
    assert!(reused.is_gone());
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id() as i32;
    child.wait().unwrap();
    let dead = Owner::parse(marker_for(pid, "proc:1", false).as_bytes()).unwrap();
    assert!(dead.is_gone());
  }

  #[test]
  fn other_content_is_not_a_marker() {
    assert!(Owner::parse(b"").is_none());
    assert!(Owner::parse(b"{\"ledger\": 12}").is_none());
    assert!(Owner::parse(br#"{"pid":0,"host":"h","start":"s"}"#).is_none());
  }
}
