use windows_sys::Win32::Foundation::*;

/// Win32 errors mapped to the POSIX names libuv (and so Node) reports for them
/// (libuv `uv_translate_sys_error`).
const WIN32: &[(u32, &str)] = &[
  (ERROR_FILE_NOT_FOUND, "ENOENT"),
  (ERROR_PATH_NOT_FOUND, "ENOENT"),
  (ERROR_INVALID_NAME, "ENOENT"),
  (ERROR_ACCESS_DENIED, "EPERM"),
  (ERROR_SHARING_VIOLATION, "EBUSY"),
  (ERROR_LOCK_VIOLATION, "EBUSY"),
  (ERROR_ALREADY_EXISTS, "EEXIST"),
  (ERROR_FILE_EXISTS, "EEXIST"),
  (ERROR_DISK_FULL, "ENOSPC"),
  (ERROR_HANDLE_DISK_FULL, "ENOSPC"),
  (ERROR_TOO_MANY_OPEN_FILES, "EMFILE"),
  (ERROR_NOT_SUPPORTED, "ENOTSUP"),
  (ERROR_INVALID_PARAMETER, "EINVAL"),
  (ERROR_DIRECTORY, "EINVAL"),
  (ERROR_NOT_SAME_DEVICE, "EXDEV"),
  (ERROR_WRITE_PROTECT, "EROFS"),
  (ERROR_FILENAME_EXCED_RANGE, "ENAMETOOLONG"),
  (ERROR_DIR_NOT_EMPTY, "ENOTEMPTY"),
  (ERROR_LOCK_FAILED, "EAGAIN"),
  (ERROR_IO_DEVICE, "EIO"),
  (ERROR_CRC, "EIO"),
  (ERROR_CANT_RESOLVE_FILENAME, "ELOOP"),
];

pub fn errno_name(os_error: i32) -> Option<&'static str> {
  WIN32
    .iter()
    .find(|(code, _)| *code as i32 == os_error)
    .map(|(_, name)| *name)
}

pub fn errno_value(name: &str) -> Option<i32> {
  WIN32
    .iter()
    .find(|(_, n)| *n == name)
    .map(|(code, _)| *code as i32)
}
