// lockStatus: who holds a lock file now, without taking it or creating it.
//
// Two kinds of holder can hold a lock file of this library's (see lock.ts):
// - a kernel flock(2) lock on the file: native holders, and flock(1), py-filelock or any
//   other flock user. On Linux the kernel lists these in /proc/locks with the pid that
//   took each one, so reading that table is exact and takes nothing.
// - a pure-JS fallback holder's marker beside the file (`.<name>.js-holder`, js/lock/js-lock.ts),
//   which names its holder's pid and host.
// Where there is no /proc/locks (macOS, Windows), the only way to learn whether a kernel
// lock is held is to try one without waiting and let go at once; holders are then known
// only from a fallback marker.
import { readFile, realpath, stat } from 'node:fs/promises';
import type { Backend } from './backend';
import { hasCode } from './js/fs-error';
import { kernelLocksVisible } from './js/lock/kernel-locks';
import { markerPathFor } from './js/lock/lock-file';
import { parseMarker } from './js/lock/marker';
import { readSnapshot } from './js/lock/marker-file';
import { isOwnerGone } from './js/lock/owner';
import { toPath } from './validate';

/** One process holding a lock, as `lockStatus` reports it. */
export interface LockHolder {
  /** The process that took the lock (as the kernel or the fallback's marker names it). */
  pid: number;
  /** The holder's host name, when known (fallback holders; kernel locks are local). */
  host?: string;
}

/** What `lockStatus(path)` saw: whether the lock file is held, how, and by whom. */
export interface LockStatus {
  /** Someone holds the lock now. */
  locked: boolean;
  /** Held, and only by shared (reader) holders. */
  shared: boolean;
  /** Who holds it, each process once; may be empty where the OS does not say. */
  holders: LockHolder[];
}

/** One holder as seen by one mechanism. `pid` is 0 for a process the kernel cannot name to us. */
interface Hold extends LockHolder {
  shared: boolean;
}

export function createLockStatusApi(backend: Backend) {
  /** Who holds the lock file `path` now. A missing file is free. */
  async function lockStatus(path: string | URL): Promise<LockStatus> {
    const file = toPath(path);
    const found = await lockFileAt(file);
    if (found === undefined) return { locked: false, shared: false, holders: [] };
    const marker = fallbackHolder(found.real);
    if (kernelLocksVisible()) return summarise(combine(await flockHolds(found.ino), marker));
    return probe(backend, file, marker);
  }

  return { lockStatus };
}

/** The inode at `path` and its real path (where a fallback marker sits), or undefined if none. */
async function lockFileAt(path: string): Promise<{ ino: bigint; real: string } | undefined> {
  try {
    const { ino } = await stat(path, { bigint: true });
    return { ino, real: await realpath(path) };
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/**
 * The flock(2) locks on inode `ino` in /proc/locks. Lines look like
 * `3: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF`; a process blocked in flock(2)
 * appears as `3: -> FLOCK ...` and holds nothing. As in js/lock/kernel-locks.ts the device is
 * not compared (it is the superblock's, not `st_dev`, on btrfs and overlayfs). POSIX
 * record locks and OFD locks are a separate kind the library neither takes nor sees.
 */
async function flockHolds(ino: bigint): Promise<Hold[]> {
  const holds: Hold[] = [];
  for (const line of (await readFile('/proc/locks', 'latin1')).split('\n')) {
    const [, kind, , access, pid, id] = line.trim().split(/\s+/);
    if (kind !== 'FLOCK' || pid === undefined || id === undefined) continue;
    const parts = id.split(':');
    if (parts.length !== 3 || parts[2] !== `${ino}`) continue;
    // A holder in a pid namespace we cannot see is listed as 0 (or -1): held, pid unknown.
    holds.push({ pid: Math.max(0, Number(pid)), shared: access === 'READ' });
  }
  return holds;
}

/** The fallback holder named by the marker beside the lock file, if it is alive. */
function fallbackHolder(real: string): Hold | undefined {
  let snapshot: ReturnType<typeof readSnapshot>;
  try {
    snapshot = readSnapshot(markerPathFor(real));
  } catch {
    return undefined; // unreadable: the fallback itself would report it when locking
  }
  const marker = snapshot && parseMarker(snapshot.content);
  if (!marker || isOwnerGone(marker)) return undefined;
  return { pid: marker.pid, host: marker.host, shared: marker.shared };
}

/**
 * A live marker beside a conflicting kernel lock is a fallback process waiting (its
 * turn reserved, js/lock/js-lock.ts) or withdrawing, not a holder: each side defers to the
 * other's lock, so the kernel's holder is the one that holds.
 */
function combine(kernel: Hold[], marker: Hold | undefined): Hold[] {
  if (marker === undefined) return kernel;
  const conflicts = kernel.some((hold) => !(hold.shared && marker.shared));
  return conflicts ? kernel : [...kernel, marker];
}

function summarise(holds: Hold[]): LockStatus {
  const holders: LockHolder[] = [];
  const seen = new Set<number>();
  for (const { pid, host } of holds) {
    if (pid === 0 || seen.has(pid)) continue;
    seen.add(pid);
    holders.push(host === undefined ? { pid } : { pid, host });
  }
  const locked = holds.length > 0;
  return { locked, shared: locked && holds.every((hold) => hold.shared), holders };
}

/**
 * Without a kernel table: an exclusive try that succeeds means free; else a shared try
 * tells a shared hold from an exclusive one. Each try is let go at once. (The lock file
 * exists, checked just before; one deleted in between is created again by the try.)
 */
function probe(backend: Backend, path: string, marker: Hold | undefined): LockStatus {
  const holders = marker === undefined ? [] : [{ pid: marker.pid, host: marker.host as string }];
  if (tryOnce(backend, path, false)) return { locked: false, shared: false, holders: [] };
  // The fallback's shared holders exclude each other, so trust a marker that says shared.
  const shared = marker?.shared === true || tryOnce(backend, path, true);
  return { locked: true, shared, holders };
}

function tryOnce(backend: Backend, path: string, shared: boolean): boolean {
  const lock = backend.openLock(path, shared);
  if (!lock.tryLock()) return false;
  lock.unlock();
  return true;
}
