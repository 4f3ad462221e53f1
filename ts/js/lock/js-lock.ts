// The fallback's lock, where no kernel lock can be taken (pure JavaScript has no
// flock). The lock file itself is the one native processes lock: created if missing,
// never deleted, truncated or written. A fallback holder claims it by publishing a
// marker file beside it, `.<lock file name>.js-holder`, naming the holder (marker.ts);
// releasing removes the marker. A holder that crashed leaves its marker behind; the
// next fallback process judges it stale when the holder is provably gone (owner.ts)
// and breaks it (break-stale.ts).
//
// Against native holders (and flock(1), py-filelock), "claim, then check the other
// side": after publishing its marker, a fallback process looks in /proc/locks for a
// conflicting flock on the lock file's inode and withdraws if there is one; a native
// process checks for a live marker after taking its flock (core: lock/foreign.rs).
// Whoever claims second sees the first, so they never both hold. Linux only: elsewhere
// pure JS cannot see kernel locks (kernel-locks.ts).
//
// Waiting is polling with backoff (poll.ts): there is nothing to be woken by. Shared
// locks are exclusive among fallback holders (one marker per lock file): correct, only
// less concurrent; against native holders they are shared.
import type { OsLock } from '../../backend';
import { hasCode } from '../fs-error';
import { poll, pollSync } from '../poll';
import { breakStale } from './break-stale';
import { kernelLockConflicts } from './kernel-locks';
import { foreign, identifyLockFile, inodeAt, markerPathFor, wakeNativeWaiters } from './lock-file';
import { isStale, newMarker, parseMarker } from './marker';
import { publishExclusive, readSnapshot, removeIf, type Snapshot } from './marker-file';

/** In one try, create-or-judge rounds: enough to get past a release or a break in between. */
const ROUNDS_PER_TRY = 3;

/**
 * How long a waiting fallback process keeps its marker up while a native process holds
 * the lock. Native waiters are woken at once by a release, a fallback one only polls,
 * so without a turn of its own it could starve behind busy native holders; its marker
 * makes new native acquirers wait, and the bound keeps that from blocking them long.
 */
const RESERVATION_MS = 100;

/** What we published while we hold the lock. */
interface Claim {
  marker: string;
  markerPath: string;
}

export class JsLock implements OsLock {
  #claim: Claim | undefined;
  /** A marker published while waiting for a native holder (see RESERVATION_MS). */
  #reservation: (Claim & { ino: bigint; until: number }) | undefined;

  constructor(
    private readonly path: string,
    private readonly shared: boolean,
  ) {}

  tryLock(): boolean {
    return this.#try(false);
  }

  lockSync(timeoutMs: number): boolean {
    try {
      return pollSync(() => this.#try(true), timeoutMs);
    } finally {
      this.#cancelReservation();
    }
  }

  async lock(timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      return await poll(() => this.#try(true), timeoutMs, signal);
    } finally {
      this.#cancelReservation();
    }
  }

  #try(reserve: boolean): boolean {
    try {
      return this.#attempt(reserve);
    } catch (err) {
      // Windows keeps a deleted file's name for as long as someone has it open, and
      // refuses to create or open it meanwhile: a release is in progress, not an error.
      if (process.platform === 'win32' && hasCode(err, 'EPERM', 'EACCES', 'EBUSY')) return false;
      throw err;
    }
  }

  /** The fallback keeps nothing between holds: as `unlock`. */
  release(): void {
    this.unlock();
  }

  /**
   * Removes our marker, after checking it is still ours. Between that check and the
   * unlink, only a breaker could replace it, and breakers leave a live holder's marker
   * alone; so the check-then-unlink race needs a holder misjudged as dead.
   */
  unlock(): void {
    const claim = this.#claim;
    if (claim === undefined) return;
    this.#claim = undefined;
    heldLocks.delete(this);
    if (!withdraw(claim)) warnLost(this.path);
    wakeNativeWaiters(this.path);
  }

  /** The fallback's lock is a marker file, not a descriptor: nothing to hand over. */
  fd(): number | undefined {
    return undefined;
  }

  #attempt(reserve: boolean): boolean {
    if (this.#reservation) return this.#recheckReservation();
    const file = identifyLockFile(this.path);
    const claim = { marker: newMarker(this.shared), markerPath: markerPathFor(file.real) };
    for (let round = 0; round < ROUNDS_PER_TRY; round++) {
      if (publishExclusive(claim.markerPath, claim.marker)) return this.#confirm(claim, file.ino, reserve);
      const current = readSnapshot(claim.markerPath);
      // Released since we tried: go again. Held: give up this try.
      if (current === undefined) continue;
      if (!isStaleMarker(claim.markerPath, current)) return false;
      breakStale(claim.markerPath, current);
    }
    return false;
  }

  /**
   * Claimed: now check the kernel's side (see the header). On a conflict, a waiter keeps
   * its marker up for a while (a reservation), anything else withdraws at once.
   */
  #confirm(claim: Claim, ino: bigint, reserve: boolean): boolean {
    // The inode at the path now: the one a native process locks and then checks.
    const now = inodeAt(this.path) ?? ino;
    if (!kernelLockConflicts(now, this.shared)) return this.#hold(claim);
    if (reserve) {
      this.#reservation = { ...claim, ino: now, until: performance.now() + RESERVATION_MS };
      return false;
    }
    withdraw(claim);
    wakeNativeWaiters(this.path);
    return false;
  }

  #recheckReservation(): boolean {
    const reservation = this.#reservation as Claim & { ino: bigint; until: number };
    const now = inodeAt(this.path) ?? reservation.ino;
    if (!kernelLockConflicts(now, this.shared)) {
      this.#reservation = undefined;
      // Still ours? A breaker removes only markers of dead holders, but check anyway.
      if (readSnapshot(reservation.markerPath)?.content === reservation.marker) return this.#hold(reservation);
      return false;
    }
    if (performance.now() >= reservation.until) this.#cancelReservation();
    return false;
  }

  #cancelReservation(): void {
    const reservation = this.#reservation;
    if (reservation === undefined) return;
    this.#reservation = undefined;
    withdraw(reservation);
    wakeNativeWaiters(this.path);
  }

  #hold(claim: Claim): boolean {
    this.#claim = { marker: claim.marker, markerPath: claim.markerPath };
    holdUntilExit(this);
    return true;
  }
}

function withdraw(claim: Claim): boolean {
  return removeIf(claim.markerPath, (current) => current.content === claim.marker);
}

/**
 * A marker that is not one of ours is never removed: only an empty one can be ours (a
 * marker torn by a power cut before its data reached the disk); anything else is
 * someone's file, and the lock reports it instead of deleting it.
 */
function isStaleMarker(markerPath: string, current: Snapshot): boolean {
  if (current.content.length > 0 && parseMarker(current.content) === undefined) throw foreign(markerPath);
  return isStale(current);
}

function warnLost(path: string): void {
  process.emitWarning(
    `concurrent-fs: at release, the marker of the lock '${path}' no longer held this holder's claim: it was removed or taken over while held, so the lock may not have excluded another holder.`,
    { code: 'CFS_LOCK_LOST' },
  );
}

// A process (or worker thread) that ends normally without releasing would leave its
// markers for stale detection; remove them on the way out instead. A crash, a kill or
// a fatal signal runs no code, and stale detection handles those.
const heldLocks = new Set<JsLock>();
let exitHookInstalled = false;

function holdUntilExit(lock: JsLock): void {
  heldLocks.add(lock);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const held of heldLocks) {
      try {
        held.unlock();
      } catch {}
    }
  });
}
