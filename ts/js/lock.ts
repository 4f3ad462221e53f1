// The fallback's lock, where no kernel lock is available: the lock file is itself the
// lock. Holding it means having created it, and it holds a marker naming the holder
// (marker.ts). Releasing removes it. A holder that crashed leaves it behind; the next
// process that finds it judges it stale when the holder is provably gone (owner.ts)
// and breaks it (break-stale.ts).
//
// Waiting is polling with backoff (poll.ts): there is nothing to be woken by.
// Shared locks are exclusive here: correct, only less concurrent.
//
// Unlike a kernel lock file, this one is deleted on release. The rule "never unlink a
// lock file others may have open" is about kernel locks held on an orphaned inode; here
// the lock is the name, not an inode: readers open the file only to read the marker,
// and an old inode held open grants nothing.
import type { OsLock } from '../backend';
import { breakStale } from './break-stale';
import { hasCode } from './fs-error';
import { isStale, newMarker } from './marker';
import { publishExclusive, readSnapshot, removeIf } from './marker-file';
import { poll, pollSync } from './poll';

/** In one try, create-or-judge rounds: enough to get past a release or a break in between. */
const ROUNDS_PER_TRY = 3;

export class JsLock implements OsLock {
  /** Our marker's content while we hold the lock. */
  #marker: string | undefined;

  constructor(
    private readonly path: string,
    private readonly shared: boolean,
  ) {}

  tryLock(): boolean {
    try {
      return this.#attempt();
    } catch (err) {
      // Windows keeps a deleted file's name for as long as someone has it open, and
      // refuses to create or open it meanwhile: a release is in progress, not an error.
      if (process.platform === 'win32' && hasCode(err, 'EPERM', 'EACCES', 'EBUSY')) return false;
      throw err;
    }
  }

  lockSync(timeoutMs: number): boolean {
    return pollSync(() => this.tryLock(), timeoutMs);
  }

  lock(timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean> {
    return poll(() => this.tryLock(), timeoutMs, signal);
  }

  /**
   * Removes our marker, after checking it is still ours. Between that check and the
   * unlink, only a breaker could replace it, and breakers leave a live holder's marker
   * alone; so the check-then-unlink race needs a holder misjudged as dead.
   */
  unlock(): void {
    const marker = this.#marker;
    if (marker === undefined) return;
    this.#marker = undefined;
    heldLocks.delete(this);
    if (!removeIf(this.path, (current) => current.content === marker)) warnLost(this.path);
  }

  /** The fallback's lock is a marker file, not a descriptor: nothing to hand over. */
  fd(): number | undefined {
    return undefined;
  }

  #attempt(): boolean {
    const marker = newMarker(this.shared);
    for (let round = 0; round < ROUNDS_PER_TRY; round++) {
      if (publishExclusive(this.path, marker)) {
        this.#marker = marker;
        holdUntilExit(this);
        return true;
      }
      const current = readSnapshot(this.path);
      // Released since we tried: go again. Held: give up this try.
      if (current === undefined) continue;
      if (!isStale(current)) return false;
      breakStale(this.path, current);
    }
    return false;
  }
}

function warnLost(path: string): void {
  process.emitWarning(
    `concurrent-fs: at release, the lock file '${path}' no longer held this holder's marker: it was removed or taken over while held, so the lock may not have excluded another holder.`,
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
