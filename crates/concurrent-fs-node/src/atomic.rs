//! Atomic writes: `atomicWrite[Sync]`, `createExclusive[Sync]`, `openAtomic`, `atomicWriteMany`.
//! Async variants run on the libuv threadpool (see task.rs). Arguments are validated by
//! the TypeScript layer.

use crate::error::{many_to_napi, to_napi};
use crate::task::{blocking, Blocking};
use concurrent_fs_core::atomic::{self, AtomicFile, ManyEntry};
use concurrent_fs_core::Error as CoreError;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// How hard a write is flushed before it returns.
#[napi(string_enum = "lowercase")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
  /// No flush: survives a process crash, not a power loss.
  None,
  /// The file's data is flushed (`fdatasync`), then its directory.
  Data,
  /// `fsync` (`F_FULLFSYNC` on macOS, `FlushFileBuffers` on Windows), then the directory.
  Full,
}

impl From<Durability> for atomic::Durability {
  fn from(durability: Durability) -> Self {
    match durability {
      Durability::None => atomic::Durability::None,
      Durability::Data => atomic::Durability::Data,
      Durability::Full => atomic::Durability::Full,
    }
  }
}

/// How an atomic write is done. The functions taking it are `strict`: napi-rs would
/// otherwise read a number or a string as an object with no fields set.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct WriteOptions {
  /// Default `'full'`.
  pub durability: Option<Durability>,
  /// Exact permission bits (not masked by the umask). Default: the replaced file's, or
  /// the umask's for a new file.
  pub mode: Option<u32>,
  /// Fail with `EEXIST` instead of replacing an existing file. Default `false`;
  /// `createExclusive` always behaves as if `true`.
  pub no_clobber: Option<bool>,
}

impl WriteOptions {
  fn to_core(&self) -> atomic::WriteOptions {
    atomic::WriteOptions {
      durability: self.durability.unwrap_or(Durability::Full).into(),
      mode: self.mode,
      no_clobber: self.no_clobber.unwrap_or(false),
    }
  }

  fn exclusive(&self) -> atomic::WriteOptions {
    atomic::WriteOptions {
      no_clobber: true,
      ..self.to_core()
    }
  }
}

#[napi(catch_unwind, strict)]
pub fn atomic_write_sync(path: String, data: &[u8], options: WriteOptions) -> Result<()> {
  atomic::write(path.as_ref(), data, &options.to_core()).map_err(to_napi)
}

/// `false` when the file already exists.
#[napi(catch_unwind, strict)]
pub fn create_exclusive_sync(path: String, data: &[u8], options: WriteOptions) -> Result<bool> {
  atomic::create_exclusive(path.as_ref(), data, &options.exclusive()).map_err(to_napi)
}

// The async variants copy the bytes: JS may change its buffer while the write runs.

#[napi(catch_unwind, strict, ts_return_type = "Promise<void>")]
pub fn atomic_write(path: String, data: &[u8], options: WriteOptions) -> AsyncTask<Blocking<()>> {
  let (path, data, options) = (PathBuf::from(path), data.to_vec(), options.to_core());
  blocking(move || atomic::write(&path, &data, &options).map_err(to_napi))
}

/// Resolves to `false` when the file already exists.
#[napi(catch_unwind, strict, ts_return_type = "Promise<boolean>")]
pub fn create_exclusive(
  path: String,
  data: &[u8],
  options: WriteOptions,
) -> AsyncTask<Blocking<bool>> {
  let (path, data, options) = (PathBuf::from(path), data.to_vec(), options.exclusive());
  blocking(move || atomic::create_exclusive(&path, &data, &options).map_err(to_napi))
}

/// Writes many files atomically, sharing their flushes. `data` is every entry's bytes
/// concatenated, cut by `lengths`; `modes[i]` is null to keep the old file's bits.
#[napi(catch_unwind, ts_return_type = "Promise<void>")]
pub fn atomic_write_many(
  paths: Vec<String>,
  data: &[u8],
  lengths: Vec<u32>,
  modes: Vec<Option<u32>>,
  durability: Durability,
) -> Result<AsyncTask<Blocking<()>>> {
  let total: u64 = lengths.iter().map(|&l| u64::from(l)).sum();
  if lengths.len() != paths.len() || modes.len() != paths.len() || total != data.len() as u64 {
    return Err(Error::from_reason(
      "atomicWriteMany: entries and lengths do not match",
    ));
  }
  let paths: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
  let data = data.to_vec();
  Ok(blocking(move || {
    let mut entries = Vec::with_capacity(paths.len());
    let mut offset = 0usize;
    for ((path, &len), &mode) in paths.iter().zip(&lengths).zip(&modes) {
      let data = &data[offset..offset + len as usize];
      entries.push(ManyEntry { path, data, mode });
      offset += len as usize;
    }
    atomic::write_many(&entries, durability.into()).map_err(many_to_napi)
  }))
}

/// The state behind a handle: the file while it is open, and the path it was opened
/// with, so a step after a failure, commit or abort is a Node-style `EBADF` naming it.
#[derive(Default)]
pub struct Slot {
  path: Option<PathBuf>,
  file: Option<AtomicFile>,
}

impl Slot {
  fn closed(&self, syscall: &'static str) -> Error {
    let path = self.path.clone().unwrap_or_default();
    to_napi(CoreError::synthetic("EBADF", syscall, &path))
  }
}

/// An open atomic file. Calls are serialised by the TypeScript layer; the mutex only
/// makes the handle safe to move between the JS thread and the threadpool.
#[napi]
pub struct NativeAtomicFile {
  inner: Arc<Mutex<Slot>>,
}

enum FileStep {
  Open(PathBuf, atomic::WriteOptions),
  Write(Vec<u8>),
  Commit,
  Abort,
}

impl FileStep {
  fn run(self, slot: &Mutex<Slot>) -> Result<()> {
    let mut slot = slot
      .lock()
      .map_err(|_| Error::from_reason("atomic file lock poisoned"))?;
    let result = match self {
      FileStep::Open(path, options) => {
        let file = AtomicFile::create(&path, &options);
        slot.path = Some(path);
        file.map(|f| slot.file = Some(f))
      }
      FileStep::Write(bytes) => match slot.file.as_mut() {
        Some(file) => file.write(&bytes).inspect_err(|_| slot.file = None),
        None => return Err(slot.closed("write")),
      },
      FileStep::Commit => match slot.file.take() {
        Some(file) => file.commit(),
        None => return Err(slot.closed("rename")),
      },
      FileStep::Abort => match slot.file.take() {
        Some(file) => file.abort(),
        None => Ok(()),
      },
    };
    result.map_err(to_napi)
  }
}

#[napi]
impl NativeAtomicFile {
  /// An empty handle; `open` then creates the temp file off the main thread.
  #[napi(factory, catch_unwind)]
  pub fn create() -> Self {
    NativeAtomicFile {
      inner: Arc::new(Mutex::new(Slot::default())),
    }
  }

  #[napi(catch_unwind, strict, ts_return_type = "Promise<void>")]
  pub fn open(&self, path: String, options: WriteOptions) -> AsyncTask<Blocking<()>> {
    self.step(FileStep::Open(path.into(), options.to_core()))
  }

  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn write(&self, chunk: &[u8]) -> AsyncTask<Blocking<()>> {
    self.step(FileStep::Write(chunk.to_vec()))
  }

  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn commit(&self) -> AsyncTask<Blocking<()>> {
    self.step(FileStep::Commit)
  }

  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn abort(&self) -> AsyncTask<Blocking<()>> {
    self.step(FileStep::Abort)
  }

  fn step(&self, step: FileStep) -> AsyncTask<Blocking<()>> {
    let slot = self.inner.clone();
    blocking(move || step.run(&slot))
  }
}
