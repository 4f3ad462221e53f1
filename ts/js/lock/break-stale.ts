// Breaking a stale lock file, without two processes both believing they broke it.
//
// The danger: A and B both see a dead owner's marker M. A removes M and takes the lock
// with a marker of its own; B, acting on what it saw earlier, removes A's marker and
// takes the lock too. So breakers take turns: a breaker first creates the hidden file
// `.<lock name>.break` next to the lock file, exclusively, and while holding it reads
// the lock file again and removes it only if it is still the very file judged stale
// (same content, inode and mtime). Live holders remove only their own markers, and
// other markers are removed only by the one breaker of the moment, so between that
// re-read and the unlink no one can have put a new marker there.
//
// A `.break` file is held for microseconds. One whose holder died (same test as for a
// marker), or older than 10 s (its holder stalled, or was a worker thread that was
// terminated), is itself stale and is removed if unchanged since judged. The residual
// risk is on that rare path: two breakers clearing the same stale `.break` in the same
// microseconds, or a breaker stalled for 10 s between its re-read and its unlink.

import { basename, dirname, join } from 'node:path';
import { ageMs, isStale, newMarker } from './marker';
import { publishExclusive, readSnapshot, removeIf, type Snapshot, sameFile } from './marker-file';

const BREAKER_STALE_AFTER_MS = 10_000;

/** Removes the lock file if it is still the stale one `seen`; true when this call did. */
export function breakStale(lockPath: string, seen: Snapshot): boolean {
  const breaker = join(dirname(lockPath), `.${basename(lockPath)}.break`);
  const claim = claimBreaker(breaker);
  // Another process is breaking it right now; our caller simply tries again.
  if (claim === undefined) return false;
  try {
    return removeIf(lockPath, (current) => sameFile(current, seen));
  } finally {
    removeIf(breaker, (current) => current.content === claim);
  }
}

/** Our `.break` marker's content, or undefined when another breaker holds it. */
function claimBreaker(breaker: string): string | undefined {
  const claim = newMarker(false);
  for (let attempt = 0; attempt < 2; attempt++) {
    if (publishExclusive(breaker, claim)) return claim;
    const other = readSnapshot(breaker);
    if (other === undefined) continue;
    if (ageMs(other) <= BREAKER_STALE_AFTER_MS && !isStale(other)) return undefined;
    removeIf(breaker, (current) => sameFile(current, other));
  }
  return undefined;
}
