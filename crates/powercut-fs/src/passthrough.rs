//! The FUSE pass-through: every operation goes to the backing directory at once (the
//! live state, what the page cache would show), and the ones that matter to durability
//! are told to the [`Image`].
//!
//! Inodes are held by `O_PATH` descriptors (as libfuse's passthrough_ll does), so
//! operations name them by descriptor, not by path, and renames of their parents need no
//! bookkeeping. The descriptors are kept until unmount, which also pins the backing inode
//! numbers the image uses as identities. One mutex serialises every operation with the
//! power cut, so the cut sees each operation either wholly done or not begun.
use std::collections::{BTreeMap, HashMap};
use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirEntryExt, FileExt};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{
  AccessFlags, BsdFileFlags, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags,
  Generation, INodeNo, LockOwner, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData,
  ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow,
  WriteFlags,
};

use crate::image::{DataOp, Image, Ino, Kind};

/// Entries may be cached briefly (every change goes through this mount, so the kernel's
/// cache stays right); attributes are always asked for, so sizes are the backing's.
const ENTRY_TTL: Duration = Duration::from_secs(1);
const ATTR_TTL: Duration = Duration::ZERO;

/// What the filesystem and its controller share.
pub struct State {
  root: Ino,
  inodes: HashMap<Ino, OwnedFd>,
  handles: HashMap<u64, Handle>,
  next_fh: u64,
  pub image: Image,
  /// After the cut every operation fails with EIO: the disk is gone.
  pub dead: bool,
  pub file_syncs: u64,
  pub dir_syncs: u64,
}

enum Handle {
  File {
    file: File,
  },
  Dir {
    entries: Vec<(u64, FileType, OsString)>,
  },
}

pub struct PowerCutFs {
  state: Arc<Mutex<State>>,
}

type Result<T> = std::result::Result<T, Errno>;

impl PowerCutFs {
  /// A filesystem over `backing`, whose current content is taken as durable.
  pub fn new(backing: &Path, image: Image) -> io::Result<(PowerCutFs, Arc<Mutex<State>>)> {
    let root_fd = open_path(libc::AT_FDCWD, &cstring(backing.as_os_str()))?;
    let root = image.root();
    let state = State {
      root,
      inodes: HashMap::from([(root, root_fd)]),
      handles: HashMap::new(),
      next_fh: 1,
      image,
      dead: false,
      file_syncs: 0,
      dir_syncs: 0,
    };
    let state = Arc::new(Mutex::new(state));
    Ok((
      PowerCutFs {
        state: state.clone(),
      },
      state,
    ))
  }

  fn lock(&self) -> MutexGuard<'_, State> {
    self
      .state
      .lock()
      .unwrap_or_else(|poisoned| poisoned.into_inner())
  }

  /// Runs a mutating operation, or fails it with EIO once the power is cut.
  fn alive(&self) -> Result<MutexGuard<'_, State>> {
    let state = self.lock();
    if state.dead {
      return Err(Errno::EIO);
    }
    Ok(state)
  }
}

impl State {
  /// FUSE calls the root 1; every other inode keeps its backing number (the two swap
  /// if the backing tree has an inode 1).
  fn fuse_ino(&self, ino: Ino) -> INodeNo {
    INodeNo(swap(ino, self.root))
  }

  fn backing_ino(&self, ino: INodeNo) -> Ino {
    swap(ino.0, self.root)
  }

  fn fd(&self, ino: INodeNo) -> Result<RawFd> {
    self
      .inodes
      .get(&self.backing_ino(ino))
      .map(AsRawFd::as_raw_fd)
      .ok_or(Errno::ESTALE)
  }

  /// Opens `name` in `dir` as an inode (remembering it), and returns its attributes.
  fn remember(&mut self, dir: RawFd, name: &OsStr) -> Result<FileAttr> {
    let fd = open_path(dir, &cstring(name))?;
    let st = fstat(fd.as_raw_fd())?;
    if !self.inodes.contains_key(&st.st_ino) {
      let kind = kind_of(&st, fd.as_raw_fd());
      self.image.saw(st.st_ino, kind, st.st_mode & 0o7777);
      self.inodes.insert(st.st_ino, fd);
    }
    Ok(self.attr(&st))
  }

  fn attr(&self, st: &libc::stat) -> FileAttr {
    FileAttr {
      ino: self.fuse_ino(st.st_ino),
      size: st.st_size as u64,
      blocks: st.st_blocks as u64,
      atime: time(st.st_atime, st.st_atime_nsec),
      mtime: time(st.st_mtime, st.st_mtime_nsec),
      ctime: time(st.st_ctime, st.st_ctime_nsec),
      crtime: UNIX_EPOCH,
      kind: file_type(st.st_mode),
      perm: (st.st_mode & 0o7777) as u16,
      nlink: st.st_nlink as u32,
      uid: st.st_uid,
      gid: st.st_gid,
      rdev: st.st_rdev as u32,
      blksize: st.st_blksize as u32,
      flags: 0,
    }
  }

  fn getattr(&self, ino: INodeNo) -> Result<FileAttr> {
    Ok(self.attr(&fstat(self.fd(ino)?)?))
  }

  /// What `name` in `dir` names now (after an operation), for the image.
  fn entry_now(&self, dir: RawFd, name: &OsStr) -> Option<Ino> {
    fstatat(dir, name).ok().map(|st| st.st_ino)
  }

  /// A directory operation happened: records what each touched name now names.
  fn dir_changed(&mut self, dir: INodeNo, names: &[&OsStr]) -> Result<()> {
    let fd = self.fd(dir)?;
    let change = names
      .iter()
      .map(|name| (name.to_os_string(), self.entry_now(fd, name)))
      .collect();
    let dir = self.backing_ino(dir);
    self.image.dir_changed(dir, change);
    Ok(())
  }

  fn new_handle(&mut self, handle: Handle) -> FileHandle {
    let fh = self.next_fh;
    self.next_fh += 1;
    self.handles.insert(fh, handle);
    FileHandle(fh)
  }

  fn file(&self, fh: FileHandle) -> Result<&File> {
    match self.handles.get(&fh.0) {
      Some(Handle::File { file }) => Ok(file),
      _ => Err(Errno::EBADF),
    }
  }

  /// fsync/fdatasync: the file's whole current content becomes durable.
  fn sync_file(&mut self, ino: INodeNo) -> Result<()> {
    let fd = self.fd(ino)?;
    let mode = fstat(fd)?.st_mode & 0o7777;
    let mut data = Vec::new();
    File::open(proc_path(fd))
      .and_then(|mut file| file.read_to_end(&mut data))
      .map_err(Errno::from)?;
    let ino = self.backing_ino(ino);
    self.image.sync_file(ino, data, mode);
    self.file_syncs += 1;
    Ok(())
  }

  /// fsync of a directory: its current entries become durable.
  fn sync_dir(&mut self, ino: INodeNo) -> Result<()> {
    let fd = self.fd(ino)?;
    let mode = fstat(fd)?.st_mode & 0o7777;
    let mut entries = BTreeMap::new();
    for entry in std::fs::read_dir(proc_path(fd)).map_err(Errno::from)? {
      let entry = entry.map_err(Errno::from)?;
      let name = entry.file_name();
      if !self.inodes.contains_key(&entry.ino()) {
        self.remember(fd, &name)?;
      }
      entries.insert(name, entry.ino());
    }
    let ino = self.backing_ino(ino);
    self.image.sync_dir(ino, entries, mode);
    self.dir_syncs += 1;
    Ok(())
  }

  fn list_dir(&self, ino: INodeNo) -> Result<Vec<(u64, FileType, OsString)>> {
    let fd = self.fd(ino)?;
    let mut entries = vec![
      (ino.0, FileType::Directory, ".".into()),
      (ino.0, FileType::Directory, "..".into()),
    ];
    for entry in std::fs::read_dir(proc_path(fd)).map_err(Errno::from)? {
      let entry = entry.map_err(Errno::from)?;
      let kind = entry.file_type().map_err(Errno::from)?;
      let kind = FileType::from_std(kind).unwrap_or(FileType::RegularFile);
      entries.push((self.fuse_ino(entry.ino()).0, kind, entry.file_name()));
    }
    Ok(entries)
  }
}

fn swap(ino: u64, root: Ino) -> u64 {
  if ino == root {
    1
  } else if ino == 1 {
    root
  } else {
    ino
  }
}

impl Filesystem for PowerCutFs {
  fn lookup(&self, _: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
    let mut state = self.lock();
    match state.fd(parent).and_then(|dir| state.remember(dir, name)) {
      Ok(attr) => reply.entry(&ENTRY_TTL, &attr, Generation(0)),
      Err(err) => reply.error(err),
    }
  }

  fn getattr(&self, _: &Request, ino: INodeNo, _: Option<FileHandle>, reply: ReplyAttr) {
    match self.lock().getattr(ino) {
      Ok(attr) => reply.attr(&ATTR_TTL, &attr),
      Err(err) => reply.error(err),
    }
  }

  fn setattr(
    &self,
    _: &Request,
    ino: INodeNo,
    mode: Option<u32>,
    uid: Option<u32>,
    gid: Option<u32>,
    size: Option<u64>,
    atime: Option<TimeOrNow>,
    mtime: Option<TimeOrNow>,
    _: Option<SystemTime>,
    fh: Option<FileHandle>,
    _: Option<SystemTime>,
    _: Option<SystemTime>,
    _: Option<SystemTime>,
    _: Option<BsdFileFlags>,
    reply: ReplyAttr,
  ) {
    let result = self.alive().and_then(|mut state| {
      let fd = state.fd(ino)?;
      let path = proc_path_c(fd);
      if let Some(mode) = mode {
        check(unsafe { libc::chmod(path.as_ptr(), mode & 0o7777) })?;
      }
      if uid.is_some() || gid.is_some() {
        let (uid, gid) = (uid.unwrap_or(u32::MAX), gid.unwrap_or(u32::MAX));
        check(unsafe { libc::fchownat(fd, c"".as_ptr(), uid, gid, libc::AT_EMPTY_PATH) })?;
      }
      if let Some(size) = size {
        match fh.map(|fh| state.file(fh)) {
          Some(Ok(file)) => file.set_len(size).map_err(Errno::from)?,
          _ => check(unsafe { libc::truncate(path.as_ptr(), size as libc::off_t) })?,
        }
        let backing = state.backing_ino(ino);
        state.image.data_changed(backing, DataOp::SetLen(size));
      }
      if atime.is_some() || mtime.is_some() {
        let times = [timespec(atime), timespec(mtime)];
        check(unsafe { libc::utimensat(libc::AT_FDCWD, path.as_ptr(), times.as_ptr(), 0) })?;
      }
      state.getattr(ino)
    });
    match result {
      Ok(attr) => reply.attr(&ATTR_TTL, &attr),
      Err(err) => reply.error(err),
    }
  }

  fn readlink(&self, _: &Request, ino: INodeNo, reply: ReplyData) {
    let state = self.lock();
    match state.fd(ino).and_then(readlink) {
      Ok(target) => reply.data(target.as_bytes()),
      Err(err) => reply.error(err),
    }
  }

  fn mknod(
    &self,
    _: &Request,
    parent: INodeNo,
    name: &OsStr,
    mode: u32,
    _: u32,
    rdev: u32,
    reply: ReplyEntry,
  ) {
    self.make(parent, name, reply, |dir, name| unsafe {
      libc::mknodat(dir, name.as_ptr(), mode, rdev as libc::dev_t)
    });
  }

  fn mkdir(&self, _: &Request, dir: INodeNo, name: &OsStr, mode: u32, _: u32, reply: ReplyEntry) {
    self.make(dir, name, reply, |dir, name| unsafe {
      libc::mkdirat(dir, name.as_ptr(), mode)
    });
  }

  fn symlink(&self, _: &Request, parent: INodeNo, name: &OsStr, target: &Path, reply: ReplyEntry) {
    let target = cstring(target.as_os_str());
    self.make(parent, name, reply, |dir, name| unsafe {
      libc::symlinkat(target.as_ptr(), dir, name.as_ptr())
    });
  }

  fn unlink(&self, _: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
    self.remove(parent, name, 0, reply);
  }

  fn rmdir(&self, _: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
    self.remove(parent, name, libc::AT_REMOVEDIR, reply);
  }

  fn rename(
    &self,
    _: &Request,
    parent: INodeNo,
    name: &OsStr,
    newparent: INodeNo,
    newname: &OsStr,
    flags: RenameFlags,
    reply: ReplyEmpty,
  ) {
    let result = self.alive().and_then(|mut state| {
      let (from, to) = (state.fd(parent)?, state.fd(newparent)?);
      let (old, new) = (cstring(name), cstring(newname));
      check(unsafe {
        libc::syscall(
          libc::SYS_renameat2,
          from,
          old.as_ptr(),
          to,
          new.as_ptr(),
          flags.bits(),
        ) as libc::c_int
      })?;
      if state.backing_ino(parent) == state.backing_ino(newparent) {
        state.dir_changed(parent, &[name, newname])
      } else {
        state.dir_changed(parent, &[name])?;
        state.dir_changed(newparent, &[newname])
      }
    });
    reply_empty(reply, result);
  }

  fn link(
    &self,
    _: &Request,
    ino: INodeNo,
    newparent: INodeNo,
    newname: &OsStr,
    reply: ReplyEntry,
  ) {
    let result = self.alive().and_then(|mut state| {
      let (fd, dir) = (state.fd(ino)?, state.fd(newparent)?);
      let name = cstring(newname);
      check(unsafe { libc::linkat(fd, c"".as_ptr(), dir, name.as_ptr(), libc::AT_EMPTY_PATH) })?;
      state.dir_changed(newparent, &[newname])?;
      state.getattr(ino)
    });
    match result {
      Ok(attr) => reply.entry(&ENTRY_TTL, &attr, Generation(0)),
      Err(err) => reply.error(err),
    }
  }

  fn open(&self, _: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
    let result = self.alive().and_then(|mut state| {
      let fd = state.fd(ino)?;
      let file = open_file(fd, flags.0, 0)?;
      if flags.0 & libc::O_TRUNC != 0 {
        let backing = state.backing_ino(ino);
        state.image.data_changed(backing, DataOp::SetLen(0));
      }
      Ok(state.new_handle(Handle::File { file }))
    });
    match result {
      Ok(fh) => reply.opened(fh, FopenFlags::empty()),
      Err(err) => reply.error(err),
    }
  }

  fn create(
    &self,
    _: &Request,
    parent: INodeNo,
    name: &OsStr,
    mode: u32,
    _: u32,
    flags: i32,
    reply: ReplyCreate,
  ) {
    let result = self.alive().and_then(|mut state| {
      let dir = state.fd(parent)?;
      let cname = cstring(name);
      let flags = (flags | libc::O_CREAT | libc::O_CLOEXEC | libc::O_NOFOLLOW) & !libc::O_APPEND;
      let raw = unsafe { libc::openat(dir, cname.as_ptr(), flags, mode) };
      check(raw)?;
      let file = unsafe { File::from_raw_fd(raw) };
      let attr = state.remember(dir, name)?;
      state.dir_changed(parent, &[name])?;
      if flags & libc::O_TRUNC != 0 {
        let backing = state.backing_ino(attr.ino);
        state.image.data_changed(backing, DataOp::SetLen(0));
      }
      Ok((attr, state.new_handle(Handle::File { file })))
    });
    match result {
      Ok((attr, fh)) => reply.created(&ENTRY_TTL, &attr, Generation(0), fh, FopenFlags::empty()),
      Err(err) => reply.error(err),
    }
  }

  fn read(
    &self,
    _: &Request,
    _: INodeNo,
    fh: FileHandle,
    offset: u64,
    size: u32,
    _: OpenFlags,
    _: Option<LockOwner>,
    reply: ReplyData,
  ) {
    let state = self.lock();
    let result = state.file(fh).and_then(|file| {
      let mut buf = vec![0; size as usize];
      let mut filled = 0;
      while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
          Ok(0) => break,
          Ok(n) => filled += n,
          Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
          Err(err) => return Err(Errno::from(err)),
        }
      }
      buf.truncate(filled);
      Ok(buf)
    });
    match result {
      Ok(data) => reply.data(&data),
      Err(err) => reply.error(err),
    }
  }

  fn write(
    &self,
    _: &Request,
    ino: INodeNo,
    fh: FileHandle,
    offset: u64,
    data: &[u8],
    _: WriteFlags,
    _: OpenFlags,
    _: Option<LockOwner>,
    reply: ReplyWrite,
  ) {
    let result = self.alive().and_then(|mut state| {
      state
        .file(fh)?
        .write_all_at(data, offset)
        .map_err(Errno::from)?;
      let backing = state.backing_ino(ino);
      state.image.data_changed(
        backing,
        DataOp::Write {
          offset,
          bytes: data.to_vec(),
        },
      );
      Ok(data.len() as u32)
    });
    match result {
      Ok(written) => reply.written(written),
      Err(err) => reply.error(err),
    }
  }

  fn flush(&self, _: &Request, _: INodeNo, _: FileHandle, _: LockOwner, reply: ReplyEmpty) {
    reply.ok();
  }

  fn opendir(&self, _: &Request, ino: INodeNo, _: OpenFlags, reply: ReplyOpen) {
    let mut state = self.lock();
    match state.list_dir(ino) {
      Ok(entries) => {
        let fh = state.new_handle(Handle::Dir { entries });
        reply.opened(fh, FopenFlags::empty());
      }
      Err(err) => reply.error(err),
    }
  }

  fn readdir(
    &self,
    _: &Request,
    _: INodeNo,
    fh: FileHandle,
    offset: u64,
    mut reply: ReplyDirectory,
  ) {
    let state = self.lock();
    let Some(Handle::Dir { entries }) = state.handles.get(&fh.0) else {
      return reply.error(Errno::EBADF);
    };
    for (i, (ino, kind, name)) in entries.iter().enumerate().skip(offset as usize) {
      if reply.add(INodeNo(*ino), (i + 1) as u64, *kind, name) {
        break;
      }
    }
    reply.ok();
  }

  fn release(
    &self,
    _: &Request,
    _: INodeNo,
    fh: FileHandle,
    _: OpenFlags,
    _: Option<LockOwner>,
    _: bool,
    reply: ReplyEmpty,
  ) {
    self.forget(fh, reply);
  }

  fn releasedir(&self, _: &Request, _: INodeNo, fh: FileHandle, _: OpenFlags, reply: ReplyEmpty) {
    self.forget(fh, reply);
  }

  fn fsync(&self, _: &Request, ino: INodeNo, _: FileHandle, _: bool, reply: ReplyEmpty) {
    self.synced(reply, |state| state.sync_file(ino));
  }

  fn fsyncdir(&self, _: &Request, ino: INodeNo, _: FileHandle, _: bool, reply: ReplyEmpty) {
    self.synced(reply, |state| state.sync_dir(ino));
  }

  fn statfs(&self, _: &Request, _: INodeNo, reply: ReplyStatfs) {
    let state = self.lock();
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    match state
      .fd(INodeNo::ROOT)
      .and_then(|fd| check(unsafe { libc::fstatvfs(fd, &mut st) }))
    {
      Ok(()) => reply.statfs(
        st.f_blocks,
        st.f_bfree,
        st.f_bavail,
        st.f_files,
        st.f_ffree,
        st.f_bsize as u32,
        st.f_namemax as u32,
        st.f_frsize as u32,
      ),
      Err(err) => reply.error(err),
    }
  }

  fn access(&self, _: &Request, ino: INodeNo, mask: AccessFlags, reply: ReplyEmpty) {
    let state = self.lock();
    let result = state.fd(ino).and_then(|fd| {
      check(unsafe { libc::faccessat(fd, c"".as_ptr(), mask.bits(), libc::AT_EMPTY_PATH) })
    });
    reply_empty(reply, result);
  }
}

impl PowerCutFs {
  /// mknod, mkdir, symlink: makes `name` in `parent` and tells the image.
  fn make(
    &self,
    parent: INodeNo,
    name: &OsStr,
    reply: ReplyEntry,
    op: impl FnOnce(RawFd, &CString) -> libc::c_int,
  ) {
    let result = self.alive().and_then(|mut state| {
      let dir = state.fd(parent)?;
      check(op(dir, &cstring(name)))?;
      let attr = state.remember(dir, name)?;
      state.dir_changed(parent, &[name])?;
      Ok(attr)
    });
    match result {
      Ok(attr) => reply.entry(&ENTRY_TTL, &attr, Generation(0)),
      Err(err) => reply.error(err),
    }
  }

  /// Closes an open file's or directory's handle.
  fn forget(&self, fh: FileHandle, reply: ReplyEmpty) {
    self.lock().handles.remove(&fh.0);
    reply.ok();
  }

  /// Runs an fsync-like `sync` on the state, unless the power is cut.
  fn synced(&self, reply: ReplyEmpty, sync: impl FnOnce(&mut State) -> Result<()>) {
    reply_empty(reply, self.alive().and_then(|mut state| sync(&mut state)));
  }

  fn remove(&self, parent: INodeNo, name: &OsStr, flags: libc::c_int, reply: ReplyEmpty) {
    let result = self.alive().and_then(|mut state| {
      let dir = state.fd(parent)?;
      check(unsafe { libc::unlinkat(dir, cstring(name).as_ptr(), flags) })?;
      state.dir_changed(parent, &[name])
    });
    reply_empty(reply, result);
  }
}

fn reply_empty(reply: ReplyEmpty, result: Result<()>) {
  match result {
    Ok(()) => reply.ok(),
    Err(err) => reply.error(err),
  }
}

fn cstring(name: &OsStr) -> CString {
  // FUSE names never contain NUL (the kernel passes C strings).
  CString::new(name.as_bytes()).unwrap_or_default()
}

fn check(rc: libc::c_int) -> Result<()> {
  if rc < 0 {
    Err(Errno::from(io::Error::last_os_error()))
  } else {
    Ok(())
  }
}

fn open_path(dir: RawFd, name: &CString) -> io::Result<OwnedFd> {
  let fd = unsafe {
    libc::openat(
      dir,
      name.as_ptr(),
      libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
    )
  };
  if fd < 0 {
    return Err(io::Error::last_os_error());
  }
  Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens an inode for I/O through its `O_PATH` descriptor. O_APPEND is dropped: the
/// kernel already turned appends into writes at the end, and pwrite on an O_APPEND
/// descriptor would ignore the offset it chose. O_NOFOLLOW is dropped too: the kernel
/// already applied it to the caller's path, and here it would refuse the /proc link.
fn open_file(fd: RawFd, flags: i32, mode: u32) -> Result<File> {
  let dropped = libc::O_APPEND | libc::O_CREAT | libc::O_EXCL | libc::O_NOCTTY | libc::O_NOFOLLOW;
  let flags = (flags | libc::O_CLOEXEC) & !dropped;
  let path = proc_path_c(fd);
  let raw = unsafe { libc::open(path.as_ptr(), flags, mode) };
  check(raw)?;
  Ok(unsafe { File::from_raw_fd(raw) })
}

fn proc_path(fd: RawFd) -> String {
  format!("/proc/self/fd/{fd}")
}

fn proc_path_c(fd: RawFd) -> CString {
  CString::new(proc_path(fd)).unwrap_or_default()
}

fn fstat(fd: RawFd) -> Result<libc::stat> {
  let mut st: libc::stat = unsafe { std::mem::zeroed() };
  check(unsafe {
    libc::fstatat(
      fd,
      c"".as_ptr(),
      &mut st,
      libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
    )
  })?;
  Ok(st)
}

fn fstatat(dir: RawFd, name: &OsStr) -> Result<libc::stat> {
  let mut st: libc::stat = unsafe { std::mem::zeroed() };
  check(unsafe {
    libc::fstatat(
      dir,
      cstring(name).as_ptr(),
      &mut st,
      libc::AT_SYMLINK_NOFOLLOW,
    )
  })?;
  Ok(st)
}

fn readlink(fd: RawFd) -> Result<OsString> {
  let mut buf = vec![0u8; libc::PATH_MAX as usize];
  let n = unsafe { libc::readlinkat(fd, c"".as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
  if n < 0 {
    return Err(Errno::from(io::Error::last_os_error()));
  }
  buf.truncate(n as usize);
  Ok(OsString::from(std::ffi::OsStr::from_bytes(&buf)))
}

fn kind_of(st: &libc::stat, fd: RawFd) -> Kind {
  match st.st_mode & libc::S_IFMT {
    libc::S_IFREG => Kind::File,
    libc::S_IFDIR => Kind::Dir,
    libc::S_IFLNK => readlink(fd).map_or(Kind::Other, Kind::Symlink),
    _ => Kind::Other,
  }
}

fn file_type(mode: u32) -> FileType {
  match mode & libc::S_IFMT {
    libc::S_IFDIR => FileType::Directory,
    libc::S_IFLNK => FileType::Symlink,
    libc::S_IFIFO => FileType::NamedPipe,
    libc::S_IFSOCK => FileType::Socket,
    libc::S_IFCHR => FileType::CharDevice,
    libc::S_IFBLK => FileType::BlockDevice,
    _ => FileType::RegularFile,
  }
}

fn time(secs: i64, nsecs: i64) -> SystemTime {
  if secs >= 0 {
    UNIX_EPOCH + Duration::new(secs as u64, nsecs as u32)
  } else {
    UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
  }
}

fn timespec(time: Option<TimeOrNow>) -> libc::timespec {
  match time {
    None => libc::timespec {
      tv_sec: 0,
      tv_nsec: libc::UTIME_OMIT,
    },
    Some(TimeOrNow::Now) => libc::timespec {
      tv_sec: 0,
      tv_nsec: libc::UTIME_NOW,
    },
    Some(TimeOrNow::SpecificTime(at)) => {
      let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
      libc::timespec {
        tv_sec: since.as_secs() as libc::time_t,
        tv_nsec: since.subsec_nanos() as libc::c_long,
      }
    }
  }
}
