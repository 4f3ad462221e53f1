use rustix::io::Errno;

/// The names the core itself uses or tests for. An errno outside this table is still
/// carried by number (`Error::os_error`) and named by the binding as Node names it.
///
/// Order matters where two names share a number (ENOTSUP and EOPNOTSUPP on Linux):
/// the first listed wins, matching the name Node reports.
const ERRNOS: &[(&str, Errno)] = &[
  ("EACCES", Errno::ACCESS),
  ("EAGAIN", Errno::AGAIN),
  ("EBADF", Errno::BADF),
  ("EBUSY", Errno::BUSY),
  ("EDEADLK", Errno::DEADLK),
  ("EDQUOT", Errno::DQUOT),
  ("EEXIST", Errno::EXIST),
  ("EFBIG", Errno::FBIG),
  ("EINTR", Errno::INTR),
  ("EINVAL", Errno::INVAL),
  ("EIO", Errno::IO),
  ("EISDIR", Errno::ISDIR),
  ("ELOOP", Errno::LOOP),
  ("EMFILE", Errno::MFILE),
  ("ENAMETOOLONG", Errno::NAMETOOLONG),
  ("EMLINK", Errno::MLINK),
  ("ENFILE", Errno::NFILE),
  ("ENODEV", Errno::NODEV),
  ("ENOENT", Errno::NOENT),
  ("ENOLCK", Errno::NOLCK),
  ("ENOMEM", Errno::NOMEM),
  ("ENOSPC", Errno::NOSPC),
  ("ENOSYS", Errno::NOSYS),
  ("ENOTDIR", Errno::NOTDIR),
  ("ENOTEMPTY", Errno::NOTEMPTY),
  ("ENOTSUP", Errno::NOTSUP),
  ("ENOTTY", Errno::NOTTY),
  ("ENXIO", Errno::NXIO),
  ("EOPNOTSUPP", Errno::OPNOTSUPP),
  ("EPERM", Errno::PERM),
  ("EROFS", Errno::ROFS),
  ("ESPIPE", Errno::SPIPE),
  ("ESTALE", Errno::STALE),
  ("ETXTBSY", Errno::TXTBSY),
  ("EXDEV", Errno::XDEV),
];

pub fn errno_name(os_error: i32) -> Option<&'static str> {
  ERRNOS
    .iter()
    .find(|(_, e)| e.raw_os_error() == os_error)
    .map(|(name, _)| *name)
}

pub fn errno_value(name: &str) -> Option<i32> {
  ERRNOS
    .iter()
    .find(|(n, _)| *n == name)
    .map(|(_, e)| e.raw_os_error())
}

pub fn retry_interrupted<T>(
  mut call: impl FnMut() -> rustix::io::Result<T>,
) -> rustix::io::Result<T> {
  loop {
    match call() {
      Err(Errno::INTR) => continue,
      other => return other,
    }
  }
}
