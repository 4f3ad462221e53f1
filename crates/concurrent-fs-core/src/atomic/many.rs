//! Many atomic writes whose flushes are shared: `write_many`.
//!
//! Each file goes through the steps of a single write (see the module above), but the
//! costly steps are done for the batch, not file by file:
//!
//! 1. Every temp file is created, written and flushed by a few threads at once. The
//!    filesystem's journal then commits many flushes together, so 100 flushes cost
//!    about what a few sequential ones do. (Measured on Linux/ext4, 100 x 1 KiB: 16
//!    threads matched one `syncfs`, 22-64 ms against 27-70 ms, in the noise of each
//!    other; `syncfs` was not taken because it flushes everyone's dirty data on the
//!    filesystem, so its cost is not ours to bound, it cannot honour `data`, and before
//!    Linux 5.8 it did not report writeback errors.)
//! 2. If any flush (or any earlier step) fails, nothing of that part of the batch is
//!    renamed, and every temp file is removed.
//! 3. The temps are renamed in entry order, so of two entries for one file the later
//!    one is what stays.
//! 4. Each distinct directory (by device and inode, however it was spelled) is flushed
//!    once, after all renames into it. A failure there is `committed`.
//!
//! It is not all-or-nothing across files: a failure leaves every file old or new, and
//! `ManyError::written` says which entries were renamed. The batch is worked on in
//! chunks, so a batch of thousands of files holds a bounded number of descriptors.

use super::{platform, AtomicFile, Durability, WriteOptions};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// One file of a batch: its path, new content and (optionally) exact permission bits.
pub struct ManyEntry<'a> {
  pub path: &'a Path,
  pub data: &'a [u8],
  pub mode: Option<u32>,
}

/// A failed batch: the first error (by entry order within the failing step) and the
/// indexes of the entries that were renamed into place, in entry order.
#[derive(Debug)]
pub struct ManyError {
  pub error: Error,
  pub written: Vec<usize>,
}

/// How many threads create, write and flush temp files at once.
const THREADS: usize = 16;
/// Entries worked on at once: bounds the open descriptors (one temp and one directory
/// handle each) for batches of any size.
const CHUNK: usize = 512;

/// Replaces every entry's file atomically; when it returns `Ok`, every file is durable
/// at `durability`.
pub fn write_many(
  entries: &[ManyEntry<'_>],
  durability: Durability,
) -> std::result::Result<(), ManyError> {
  let mut batch = Batch {
    durability,
    dirs: Vec::new(),
    by_key: HashMap::new(),
    written: Vec::new(),
  };
  let mut result = Ok(());
  for (n, chunk) in entries.chunks(CHUNK).enumerate() {
    result = batch.write_chunk(n * CHUNK, chunk);
    if result.is_err() {
      break;
    }
  }
  // Even after a failure, what was renamed is made durable, as far as it can be.
  let synced = batch.sync_dirs();
  match result.and(synced) {
    Ok(()) => Ok(()),
    Err(error) => Err(ManyError {
      error,
      written: batch.written,
    }),
  }
}

/// A directory the batch renames into.
struct Dir {
  /// Its identity, under which concurrent writers share its flush.
  key: platform::DirKey,
  /// Opened before any rename (so an unreadable directory fails with targets untouched).
  handle: platform::SyncDir,
  /// The first path renamed into it: a failed flush names it. None: nothing renamed.
  renamed: Option<PathBuf>,
}

struct Batch {
  durability: Durability,
  dirs: Vec<Dir>,
  by_key: HashMap<platform::DirKey, usize>,
  written: Vec<usize>,
}

impl Batch {
  fn write_chunk(&mut self, base: usize, chunk: &[ManyEntry<'_>]) -> Result<()> {
    let files = prepare_all(chunk, self.durability)?;
    let dirs = self.directories(&files)?;
    for (i, mut file) in files.into_iter().enumerate() {
      // On failure the rest of `files` is dropped here, which removes their temps.
      file.rename()?;
      self.written.push(base + i);
      if let Some(dir) = dirs[i] {
        self.dirs[dir]
          .renamed
          .get_or_insert_with(|| file.path.clone());
      }
    }
    Ok(())
  }

  /// The directory (index into `self.dirs`) of each file, opening the new ones; none
  /// when nothing is flushed.
  fn directories(&mut self, files: &[AtomicFile]) -> Result<Vec<Option<usize>>> {
    if self.durability == Durability::None {
      return Ok(vec![None; files.len()]);
    }
    let mut dirs = Vec::with_capacity(files.len());
    for file in files {
      let key = file
        .target
        .dir_key()
        .map_err(|err| Error::from_io(&err, "fstat", &file.path))?;
      let index = match self.by_key.get(&key) {
        Some(&index) => index,
        None => {
          let handle = platform::SyncDir::open(&file.target)
            .map_err(|(err, syscall)| Error::from_io(&err, syscall, &file.path))?;
          #[allow(clippy::clone_on_copy)] // a PathBuf on Windows
          self.dirs.push(Dir {
            key: key.clone(),
            handle,
            renamed: None,
          });
          self.by_key.insert(key, self.dirs.len() - 1);
          self.dirs.len() - 1
        }
      };
      dirs.push(Some(index));
    }
    Ok(dirs)
  }

  /// Flushes every directory something was renamed into; the first failure is returned
  /// (after trying the others), `committed`.
  fn sync_dirs(&self) -> Result<()> {
    let mut first = Ok(());
    for dir in &self.dirs {
      let Some(path) = &dir.renamed else { continue };
      // Shared with concurrent writers into the same directory (see shared_flush).
      let synced = super::shared_flush::DIRECTORY_FLUSHES.flush(&dir.key, || dir.handle.sync());
      if let Err(err) = synced {
        let err = Error::from_io(&err, "fsync", path);
        if !err.is_unsupported() && first.is_ok() {
          first = Err(err.committed());
        }
      }
    }
    first
  }
}

/// Creates, writes and flushes one temp file per entry, on a few threads when there
/// are flushes to share. On any failure every temp is removed (the files are dropped)
/// and the error of the first failing entry is returned.
fn prepare_all(chunk: &[ManyEntry<'_>], durability: Durability) -> Result<Vec<AtomicFile>> {
  let results: Vec<Result<AtomicFile>> = if durability == Durability::None || chunk.len() == 1 {
    chunk.iter().map(|e| prepare(e, durability)).collect()
  } else {
    in_parallel(chunk, durability)
  };
  results.into_iter().collect()
}

fn in_parallel(chunk: &[ManyEntry<'_>], durability: Durability) -> Vec<Result<AtomicFile>> {
  let next = AtomicUsize::new(0);
  let threads = THREADS.min(chunk.len());
  let mut done: Vec<(usize, Result<AtomicFile>)> = std::thread::scope(|scope| {
    let workers: Vec<_> = (0..threads)
      .map(|_| {
        scope.spawn(|| {
          let mut mine = Vec::new();
          loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(entry) = chunk.get(i) else { break };
            mine.push((i, prepare(entry, durability)));
          }
          mine
        })
      })
      .collect();
    workers
      .into_iter()
      .flat_map(|worker| worker.join().expect("a write thread panicked"))
      .collect()
  });
  done.sort_unstable_by_key(|(i, _)| *i);
  done.into_iter().map(|(_, result)| result).collect()
}

/// A temp file for `entry`, written and flushed, ready to rename. The directory is not
/// opened for flushing here: the batch does that once per directory.
fn prepare(entry: &ManyEntry<'_>, durability: Durability) -> Result<AtomicFile> {
  let options = WriteOptions {
    durability: Durability::None,
    mode: entry.mode,
    no_clobber: false,
  };
  let mut file = AtomicFile::create(entry.path, &options)?;
  file.write(entry.data)?;
  file.flush(durability)?;
  Ok(file)
}

#[cfg(test)]
#[path = "many_tests.rs"]
mod tests;
