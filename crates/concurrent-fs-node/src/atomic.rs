//! Atomic writes: `atomicWrite[Sync]`, `createExclusive[Sync]`, `openAtomic`, `atomicWriteMany`.
//! Async variants run on the libuv threadpool: fsync is real I/O, like `fs.promises`.

use crate::error::{no_panic, to_napi};
use concurrent_fs_core::atomic::{
  self, AtomicFile, Durability, ManyEntry, ManyError, WriteOptions,
};
use concurrent_fs_core::Error as CoreError;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub(crate) fn durability_of(durability: u32) -> Durability {
  match durability {
    0 => Durability::None,
    1 => Durability::Data,
    _ => Durability::Full,
  }
}

fn options(durability: u32, mode: Option<u32>, no_clobber: bool) -> WriteOptions {
  WriteOptions {
    durability: durability_of(durability),
    mode,
    no_clobber,
  }
}

/// `durability`: 0 none, 1 data, 2 full. Arguments are validated by the caller.
#[napi(catch_unwind)]
pub fn atomic_write_sync(
  path: String,
  data: &[u8],
  durability: u32,
  mode: Option<u32>,
  no_clobber: bool,
) -> Result<()> {
  atomic::write(path.as_ref(), data, &options(durability, mode, no_clobber)).map_err(to_napi)
}

#[napi(catch_unwind)]
pub fn create_exclusive_sync(
  path: String,
  data: &[u8],
  durability: u32,
  mode: Option<u32>,
) -> Result<bool> {
  atomic::create_exclusive(path.as_ref(), data, &options(durability, mode, true)).map_err(to_napi)
}

pub struct WriteTask {
  path: PathBuf,
  data: Vec<u8>,
  options: WriteOptions,
  exclusive: bool,
}

impl Task for WriteTask {
  type Output = bool;
  type JsValue = bool;

  fn compute(&mut self) -> Result<bool> {
    no_panic(|| {
      if self.exclusive {
        atomic::create_exclusive(&self.path, &self.data, &self.options).map_err(to_napi)
      } else {
        atomic::write(&self.path, &self.data, &self.options)
          .map(|()| true)
          .map_err(to_napi)
      }
    })
  }

  fn resolve(&mut self, _env: Env, created: bool) -> Result<bool> {
    Ok(created)
  }
}

/// Resolves to `true` (kept boolean so one task type serves both calls).
#[napi(catch_unwind, ts_return_type = "Promise<boolean>")]
pub fn atomic_write(
  path: String,
  data: &[u8],
  durability: u32,
  mode: Option<u32>,
  no_clobber: bool,
) -> AsyncTask<WriteTask> {
  // The bytes are copied: JS may change its buffer while the write runs.
  let options = options(durability, mode, no_clobber);
  AsyncTask::new(WriteTask {
    path: path.into(),
    data: data.to_vec(),
    options,
    exclusive: false,
  })
}

#[napi(catch_unwind, ts_return_type = "Promise<boolean>")]
pub fn create_exclusive(
  path: String,
  data: &[u8],
  durability: u32,
  mode: Option<u32>,
) -> AsyncTask<WriteTask> {
  let options = options(durability, mode, true);
  AsyncTask::new(WriteTask {
    path: path.into(),
    data: data.to_vec(),
    options,
    exclusive: true,
  })
}

pub struct ManyTask {
  paths: Vec<PathBuf>,
  /// Every entry's content, one after the other; `lengths` cuts it up.
  data: Vec<u8>,
  lengths: Vec<u32>,
  modes: Vec<Option<u32>>,
  durability: Durability,
}

impl Task for ManyTask {
  type Output = ();
  type JsValue = ();

  fn compute(&mut self) -> Result<()> {
    no_panic(|| {
      let mut entries = Vec::with_capacity(self.paths.len());
      let mut offset = 0usize;
      for (i, path) in self.paths.iter().enumerate() {
        let len = self.lengths[i] as usize;
        entries.push(ManyEntry {
          path,
          data: &self.data[offset..offset + len],
          mode: self.modes[i],
        });
        offset += len;
      }
      atomic::write_many(&entries, self.durability).map_err(many_error)
    })
  }

  fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
    Ok(())
  }
}

/// The core's error, with the indexes of the entries renamed into place added to its
/// JSON detail as `written`.
fn many_error(err: ManyError) -> Error {
  let mut napi_err = to_napi(err.error);
  let written: Vec<String> = err.written.iter().map(|i| i.to_string()).collect();
  if napi_err.reason.ends_with('}') {
    napi_err.reason.pop();
    napi_err
      .reason
      .push_str(&format!(r#","written":[{}]}}"#, written.join(",")));
  }
  napi_err
}

/// Writes many files atomically, sharing their flushes. `data` is every entry's bytes
/// concatenated, cut by `lengths`; `modes[i]` is null to keep the old file's bits.
/// Arguments are validated by the caller.
#[napi(catch_unwind, ts_return_type = "Promise<void>")]
pub fn atomic_write_many(
  paths: Vec<String>,
  data: &[u8],
  lengths: Vec<u32>,
  modes: Vec<Option<u32>>,
  durability: u32,
) -> Result<AsyncTask<ManyTask>> {
  let total: u64 = lengths.iter().map(|&l| u64::from(l)).sum();
  if lengths.len() != paths.len() || modes.len() != paths.len() || total != data.len() as u64 {
    return Err(Error::from_reason(
      "atomicWriteMany: entries and lengths do not match",
    ));
  }
  Ok(AsyncTask::new(ManyTask {
    paths: paths.into_iter().map(PathBuf::from).collect(),
    data: data.to_vec(),
    lengths,
    modes,
    durability: durability_of(durability),
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

pub enum FileStep {
  Open(PathBuf, WriteOptions),
  Write(Vec<u8>),
  Commit,
  Abort,
}

pub struct FileTask {
  file: Arc<Mutex<Slot>>,
  step: Option<FileStep>,
}

impl Task for FileTask {
  type Output = ();
  type JsValue = ();

  fn compute(&mut self) -> Result<()> {
    no_panic(|| self.run())
  }

  fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
    Ok(())
  }
}

impl FileTask {
  fn run(&mut self) -> Result<()> {
    let mut slot = self
      .file
      .lock()
      .map_err(|_| Error::from_reason("atomic file lock poisoned"))?;
    let step = self
      .step
      .take()
      .ok_or_else(|| Error::from_reason("task ran twice"))?;
    let result = match step {
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

  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn open(
    &self,
    path: String,
    durability: u32,
    mode: Option<u32>,
    no_clobber: bool,
  ) -> AsyncTask<FileTask> {
    self.task(FileStep::Open(
      path.into(),
      options(durability, mode, no_clobber),
    ))
  }

  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn write(&self, chunk: &[u8]) -> AsyncTask<FileTask> {
    self.task(FileStep::Write(chunk.to_vec()))
  }

  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn commit(&self) -> AsyncTask<FileTask> {
    self.task(FileStep::Commit)
  }

  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn abort(&self) -> AsyncTask<FileTask> {
    self.task(FileStep::Abort)
  }

  fn task(&self, step: FileStep) -> AsyncTask<FileTask> {
    AsyncTask::new(FileTask {
      file: self.inner.clone(),
      step: Some(step),
    })
  }
}
