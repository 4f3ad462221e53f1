// The fallback's view of a lock file: the same file native processes `flock`, created
// if missing and never deleted, truncated or written (it stays empty, as every lock
// file of this library's is). A fallback holder's claim lives beside it, in a marker
// file (js-lock.ts); this module only finds the file and says which inode is at the path.
import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { systemError } from '../../errors';
import { hasCode, naming } from '../fs-error';

export interface LockFileIdentity {
  dev: bigint;
  ino: bigint;
  /** The lock file's real path (symlinks followed), where markers go beside it. */
  real: string;
}

/** O_NONBLOCK: opening a FIFO must not wait for a writer (it would block the event loop). */
const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_CREAT | (fs.constants.O_NONBLOCK ?? 0);

/**
 * Opens (creating) the lock file, refuses what cannot be one, and identifies it. A
 * holder may delete the lock file at any moment (store.delete does): then it is simply
 * created again, as native does.
 */
export function identifyLockFile(path: string): LockFileIdentity {
  for (let attempt = 0; ; attempt++) {
    try {
      return identifyOnce(path);
    } catch (err) {
      if (!hasCode(err, 'ENOENT') || attempt >= MAX_RECREATIONS) throw naming(err, path);
    }
  }
}

/** Deleted this many times in a row between our open and our look: give up (ENOENT). */
const MAX_RECREATIONS = 64;

function identifyOnce(path: string): LockFileIdentity {
  const fd = fs.openSync(path, OPEN_FLAGS, 0o666);
  try {
    const stat = fs.fstatSync(fd, { bigint: true });
    if (stat.isDirectory()) throw systemError({ code: 'EISDIR', syscall: 'open', path });
    if (!stat.isFile()) throw notRegular(path);
    if (stat.size > 0n) throw foreign(path);
    return { dev: stat.dev, ino: stat.ino, real: fs.realpathSync(path) };
  } finally {
    fs.closeSync(fd);
  }
}

/** The inode at `path` now, or undefined when nothing is there. */
export function inodeAt(path: string): bigint | undefined {
  try {
    return fs.statSync(path, { bigint: true }).ino;
  } catch {
    return undefined;
  }
}

/**
 * Where this lock file's fallback holder puts its marker (the native core computes the
 * same name: lock/foreign.rs). `.<name>.js-holder`, unless that (with the `.break` and
 * temp files made beside it) would not fit in a 255-byte name: then a fixed-length name
 * from a hash of the lock file's name.
 */
export function markerPathFor(real: string): string {
  const name = basename(real);
  const plain = `.${name}.js-holder`;
  if (Buffer.byteLength(plain) <= MAX_MARKER_NAME_BYTES) return join(dirname(real), plain);
  return join(dirname(real), `.cfs-${fnv1a64(Buffer.from(name))}.js-holder`);
}

/** 255 minus what breakers append (`.` before, `.break` after). */
const MAX_MARKER_NAME_BYTES = 248;

/** FNV-1a, 64 bits, as 16 hex digits: tiny, and the same in Rust and JavaScript. */
function fnv1a64(bytes: Uint8Array): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of bytes) hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n);
  return hash.toString(16).padStart(16, '0');
}

/**
 * Native waiters sleep until a descriptor of the lock file is closed (inotify
 * IN_CLOSE); after removing a marker, an open and a close wakes them.
 */
export function wakeNativeWaiters(path: string): void {
  try {
    fs.closeSync(fs.openSync(path, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0)));
  } catch {}
}

export function foreign(path: string): Error {
  return systemError({
    code: 'ELOCKFOREIGN',
    syscall: 'open',
    path,
    message: `ELOCKFOREIGN: '${path}' holds content concurrent-fs did not write, so it is not a lock file of this library; lock a sidecar such as '${basename(path)}.lock' instead (the file was left untouched)`,
  });
}

function notRegular(path: string): Error {
  return systemError({
    code: 'EINVAL',
    syscall: 'open',
    path,
    message: `EINVAL: a lock file must be a regular file (this is a FIFO, socket or device), open '${path}'`,
  });
}
