// What an implementation (the native addon or the pure-JS fallback) provides.
// Everything public is built on this in the facade modules, after argument validation,
// so both implementations share one API surface and one set of checks.
import type { IdBackend } from './id-backend';

/**
 * How hard a write is flushed before it returns:
 * `'none'`: no flush (survives a process crash, not a power loss);
 * `'data'`: the file's data is flushed (`fdatasync`), then its directory;
 * `'full'` (the default): `fsync` (`F_FULLFSYNC` on macOS, `FlushFileBuffers` on Windows),
 * then its directory.
 */
export type Durability = 'none' | 'data' | 'full';

/**
 * How `cloneFile` filled the copy: `'reflink'` shares the source's blocks (btrfs, XFS,
 * APFS), `'copy-range'` copied in the kernel (`copy_file_range`), `'copy'` through
 * user space or the OS's copy routine.
 */
export type CopyMethod = 'reflink' | 'copy-range' | 'copy';

/** Validated write options, as the backends receive them. */
export interface WriteSettings {
  durability: Durability;
  /** Exact permission bits, or undefined to keep the old file's (or the umask default). */
  mode: number | undefined;
  noClobber: boolean;
}

/** One file of `writeMany`, validated. */
export interface WriteManyEntry {
  path: string;
  data: Uint8Array;
  /** Exact permission bits, or undefined to keep the old file's (or the umask default). */
  mode: number | undefined;
}

/** A file being written atomically; it replaces its target only on `commit`. */
export interface AtomicFileHandle {
  write(chunk: Uint8Array): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * The backend's handle on one lock file: an OS lock (native) or the fallback's lock
 * files. Not reentrant: the facade (FileLock) counts. Internal, never exported.
 */
export interface LockHandle {
  /** Never waits. */
  tryLock(): boolean;
  /** Blocks the calling thread; false when `timeoutMs` passed first. */
  lockSync(timeoutMs: number): boolean;
  /** False when `timeoutMs` passed first; rejects with an AbortError when `signal` aborts. */
  lock(timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean>;
  /**
   * Releases the lock, keeping what the next hold reuses (native: the open lock file,
   * unless a waiter must be woken by its close). The fallback removes its marker.
   */
  release(): void;
  /** Releases the lock if held and lets go of everything (native: closes the lock file). */
  unlock(): void;
  /**
   * The held lock's descriptor, for a child process to inherit (flock(1)'s way of
   * handing over a lock); undefined when not held or where the lock is not a descriptor.
   */
  fd(): number | undefined;
}

/** @deprecated The old name of `LockHandle` (it is not only an OS lock); use `LockHandle`. */
export type OsLock = LockHandle;

export interface Backend {
  readonly implementation: 'native' | 'js';
  writeSync(path: string, data: Uint8Array, settings: WriteSettings): void;
  write(path: string, data: Uint8Array, settings: WriteSettings): Promise<void>;
  createExclusiveSync(path: string, data: Uint8Array, settings: WriteSettings): boolean;
  createExclusive(path: string, data: Uint8Array, settings: WriteSettings): Promise<boolean>;
  openAtomic(path: string, settings: WriteSettings): Promise<AtomicFileHandle>;
  /**
   * Replaces each entry's file atomically, sharing the flushes; renames in entry order.
   * Rejects with the first error, carrying `written`: the paths (as given) renamed into place.
   */
  writeMany(entries: WriteManyEntry[], durability: Durability): Promise<void>;
  openLock(path: string, shared: boolean): LockHandle;
  /**
   * Replaces `dest` atomically with a copy of `src` (a symlinked `src` is followed),
   * with `src`'s permission bits, flushed per `durability`; the blocks are shared
   * (`'reflink'`) where the filesystem can. Internal (the workspaces' `include` copies),
   * called through `cloneFile` in clone-file.ts, which validates the arguments.
   */
  cloneFile(src: string, dest: string, durability: Durability): Promise<CopyMethod>;
  /** A content hash as hex: equal bytes give equal versions. */
  contentVersion(data: Uint8Array): string;
  readonly ids: IdBackend;
}
