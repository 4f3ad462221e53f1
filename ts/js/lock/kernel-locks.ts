// Kernel locks, seen from pure JavaScript: Linux lists every lock in /proc/locks. The
// fallback cannot take an flock, but it can see one, which is how a fallback process
// and native processes (or flock(1), py-filelock) on one lock file exclude each other
// (the protocol is in the core's lock/foreign.rs). Elsewhere there is no such view:
// `kernelLocksVisible()` is false and the fallback excludes only other fallback holders.
import * as fs from 'node:fs';

let visible: boolean | undefined;

/**
 * Whether /proc/locks can be read here. Asked on first use, not at import: Deno refuses
 * a look at /proc without --allow-all, and an import must not need that.
 */
export function kernelLocksVisible(): boolean {
  if (visible === undefined) {
    try {
      visible = process.platform === 'linux' && fs.existsSync('/proc/locks');
    } catch {
      visible = false;
    }
  }
  return visible;
}

/**
 * True when a kernel lock on inode `ino` conflicts with a lock of the given kind:
 * any lock for an exclusive request, a write lock for a shared one.
 *
 * Lines look like `3: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF`; a waiter blocked
 * in flock(2) appears as `3: -> FLOCK ...` and holds nothing. The device is not
 * compared: /proc/locks prints the superblock's device, which differs from `st_dev` on
 * btrfs subvolumes and overlay mounts. Matching the inode alone can only make the
 * fallback wait for an unrelated lock, never ignore a real one.
 */
export function kernelLockConflicts(ino: bigint, shared: boolean): boolean {
  if (!kernelLocksVisible()) return false;
  const suffix = `:${ino}`;
  for (const line of fs.readFileSync('/proc/locks', 'latin1').split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === '->') continue;
    const [, kind, , access, , id] = fields;
    // Only flock(2) locks: native, flock(1) and py-filelock use those, and Linux keeps
    // them apart from POSIX record locks, which native does not see either.
    if (kind !== 'FLOCK' || id === undefined || !id.endsWith(suffix)) continue;
    if (id.split(':').length !== 3) continue;
    if (!shared || access === 'WRITE') return true;
  }
  return false;
}
