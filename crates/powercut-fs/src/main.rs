//! powercut-fs: a FUSE filesystem for power-cut tests (test tooling, never shipped).
//!
//! ```text
//! powercut-fs [--prefix-seed N] BACKING MOUNTPOINT
//! ```
//!
//! Mounts BACKING at MOUNTPOINT as a pass-through and keeps a durable image of it that
//! honours only the POSIX minimum (see `image.rs` and docs/power-cut.md): a file's data is
//! durable once the file is fsynced, a directory's entries once the directory is fsynced.
//! Everything in BACKING at mount time counts as durable.
//!
//! Controlled over stdin, one command a line; it answers on stdout:
//! - (at start) `ready` once mounted;
//! - `cut`: the power goes out. The durable image is frozen at this instant and every
//!   later operation fails with EIO. Answers `cut`.
//! - `stats`: answers `stats file_syncs=N dir_syncs=N`.
//! - `exit` (or end of input): unmounts. After a `cut`, BACKING is then replaced by the
//!   durable image (the state after the reboot); without one it is left as it is (a clean
//!   shutdown). Answers `exited dropped_dir_names=N` and exits 0.
//!
//! `--prefix-seed N` keeps, at the cut, a random prefix of each inode's unsynced history
//! (a disk that wrote some of it), chosen by a generator seeded with N.
mod image;
mod passthrough;

use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use fuser::{Config, MountOption, Session};

use crate::image::Image;
use crate::passthrough::{PowerCutFs, State};

struct Args {
  backing: PathBuf,
  mountpoint: PathBuf,
  prefix_seed: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
  let mut positional = Vec::new();
  let mut prefix_seed = None;
  let mut args = std::env::args().skip(1);
  while let Some(arg) = args.next() {
    if arg == "--prefix-seed" {
      let value = args.next().ok_or("--prefix-seed needs a number")?;
      prefix_seed = Some(
        value
          .parse()
          .map_err(|_| format!("--prefix-seed: not a number: {value}"))?,
      );
    } else {
      positional.push(PathBuf::from(arg));
    }
  }
  let [backing, mountpoint] = <[PathBuf; 2]>::try_from(positional)
    .map_err(|_| "usage: powercut-fs [--prefix-seed N] BACKING MOUNTPOINT".to_string())?;
  Ok(Args {
    backing,
    mountpoint,
    prefix_seed,
  })
}

fn main() -> ExitCode {
  match parse_args().and_then(|args| run(&args).map_err(|err| err.to_string())) {
    Ok(()) => ExitCode::SUCCESS,
    Err(message) => {
      eprintln!("powercut-fs: {message}");
      ExitCode::FAILURE
    }
  }
}

fn run(args: &Args) -> io::Result<()> {
  // Modes come from the kernel already masked; the daemon's own umask must not mask again.
  unsafe { libc::umask(0) };
  let backing = args.backing.canonicalize()?;
  let image = Image::load(&backing, args.prefix_seed.is_some())?;
  let (fs, state) = PowerCutFs::new(&backing, image)?;
  let background = mount(fs, &args.mountpoint)?.spawn()?;
  say("ready")?;
  let after_cut = serve(&state, args.prefix_seed.map(XorShift::new))?;
  unmount(&args.mountpoint);
  background.join()?;
  let mut dropped = 0;
  if let Some(image) = after_cut {
    drop(state); // closes every descriptor into BACKING before it is rewritten
    empty_dir(&backing)?;
    dropped = image.materialize(&backing)?.dropped_dir_names;
  }
  say(&format!("exited dropped_dir_names={dropped}"))
}

fn mount(fs: PowerCutFs, mountpoint: &Path) -> io::Result<Session<PowerCutFs>> {
  let mut config = Config::default();
  config.mount_options = vec![
    MountOption::FSName("powercut".into()),
    MountOption::Subtype("powercut".into()),
  ];
  Session::new(fs, mountpoint, &config)
    .map_err(|err| io::Error::new(err.kind(), format!("mount {}: {err}", mountpoint.display())))
}

/// Answers the commands on stdin until `exit` (or its end); the image a `cut` left, if any.
/// With a seed, a cut keeps a random prefix of each inode's unsynced history, else none.
fn serve(state: &Mutex<State>, mut rng: Option<XorShift>) -> io::Result<Option<Image>> {
  let mut after_cut = None;
  for line in io::stdin().lock().lines() {
    match line?.trim() {
      "cut" => {
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        state.dead = true;
        let mut keep = |len: usize| rng.as_mut().map_or(0, |rng| rng.below(len + 1));
        after_cut = Some(state.image.cut(&mut keep));
        say("cut")?;
      }
      "stats" => {
        let state = state.lock().unwrap_or_else(|p| p.into_inner());
        say(&format!(
          "stats file_syncs={} dir_syncs={}",
          state.file_syncs, state.dir_syncs
        ))?;
      }
      "exit" => break,
      "" => {}
      other => say(&format!("error unknown command {other}"))?,
    }
  }
  Ok(after_cut)
}

/// Detaches the mount even if a killed writer's last reference is still going away; the
/// session thread then sees the device close and returns.
fn unmount(mountpoint: &Path) {
  let path = std::ffi::CString::new(mountpoint.as_os_str().as_encoded_bytes()).unwrap_or_default();
  if unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) } != 0 {
    // Not root: the setuid helper can do it.
    let _ = std::process::Command::new("fusermount3")
      .arg("-u")
      .arg("-z")
      .arg(mountpoint)
      .status();
  }
}

fn empty_dir(dir: &Path) -> io::Result<()> {
  for entry in std::fs::read_dir(dir)? {
    let entry = entry?;
    if entry.file_type()?.is_dir() {
      std::fs::remove_dir_all(entry.path())?;
    } else {
      std::fs::remove_file(entry.path())?;
    }
  }
  Ok(())
}

fn say(line: &str) -> io::Result<()> {
  let mut out = io::stdout().lock();
  writeln!(out, "{line}")?;
  out.flush()
}

/// xorshift64*: a seeded, dependency-free generator (reproducible cuts, not security).
struct XorShift(u64);

impl XorShift {
  fn new(seed: u64) -> XorShift {
    XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
  }

  fn below(&mut self, n: usize) -> usize {
    self.0 ^= self.0 >> 12;
    self.0 ^= self.0 << 25;
    self.0 ^= self.0 >> 27;
    (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as usize % n.max(1)
  }
}
