// leaseWorkerId: the lowest worker ID that no live process sharing a directory holds,
// held by an OS lock on `dir/worker-<id>.lock`, so it is freed when released or when
// the holder dies (SIGKILL included), with no stale-lease cleanup.
//
// Beside the lock (which stays empty) the lease keeps the ID's high-water mark,
// `dir/worker-<id>.hwm`: a decimal Unix ms, the last millisecond any ID under the worker
// ID may carry. While held it is a reservation about a second ahead of the clock, which
// the generators renew as they mint; at release it is the last millisecond used. A new
// holder waits until the clock has passed the mark it found, and every `Snowflake` on
// the ID in this process never mints at or before it, so a worker ID's IDs never repeat
// across holders however fast it is re-leased. (Any program taking part in the same
// directory, in any language, does the same: flock `worker-<id>.lock`, then honour and
// keep `worker-<id>.hwm`.)
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LockTimeoutError } from './errors';
import type { HeldMark, IdBackend } from './id-backend';
import type { FileLockBase, FileLockConstructor } from './lock';
import { toLeaseBits, toOptions, toPath, toTimeout } from './validate';

/** Options of `leaseWorkerId(dir, options)`. */
export interface LeaseWorkerIdOptions {
  /** IDs come from [0, 2^bits). 1 to 16; default 10 (the twitter layout's worker field). */
  bits?: number;
  /** How long to wait (ms) when every ID is taken. Default 0: fail at once. */
  timeout?: number;
}

/** A worker ID held by this process (`id`) until `release()` or exit. */
export interface WorkerLease {
  /** The leased worker ID, in [0, 2^bits): the lowest no live holder sharing the directory had. */
  readonly id: number;
  /** Frees the ID for the next process. Calling it again does nothing. */
  release(): void;
  /** `release()`, for `using`. */
  [Symbol.dispose](): void;
}

/** Poll delays (ms) while every ID is taken: quick at first, then gentle on the disk. */
const FIRST_POLL_MS = 2;
const MAX_POLL_MS = 100;

/**
 * A mark at most this far ahead is waited out before the lease resolves: a killed
 * holder's reservation (1 s) plus the generators' bound on a clock that went back (1 s).
 * A mark further ahead means this clock is far behind the last holder's; the
 * generators then apply their `clockBackwards` policy (and throw ClockBackwardsError).
 */
const MAX_MARK_WAIT_MS = 2000;

class Lease implements WorkerLease {
  #lock: FileLockBase | undefined;
  readonly #mark: HeldMark;

  constructor(
    readonly id: number,
    lock: FileLockBase,
    mark: HeldMark,
  ) {
    this.#lock = lock;
    this.#mark = mark;
  }

  /** The mark found at lease time (Unix ms), if any. */
  get floor(): number | undefined {
    return this.#mark.floor;
  }

  release(): void {
    const lock = this.#lock;
    this.#lock = undefined;
    if (!lock) return;
    this.#mark.release(); // while the lock is still held
    lock.release();
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

/** What leases need: the ID backend's marks and clock, and the API's `FileLock`. */
interface LeaseDeps {
  ids: IdBackend;
  FileLock: FileLockConstructor;
}

export function createLeaseApi(deps: LeaseDeps) {
  return {
    leaseWorkerId: (dir: string | URL, options?: LeaseWorkerIdOptions): Promise<WorkerLease> => leaseWorkerId(deps, dir, options),
  };
}

async function leaseWorkerId(deps: LeaseDeps, dir: string | URL, options?: LeaseWorkerIdOptions): Promise<WorkerLease> {
  const path = toPath(dir, 'dir');
  const opts = toOptions(options);
  const bits = toLeaseBits(opts.bits);
  const timeout = toTimeout(opts.timeout, 'options.timeout', 0);
  await mkdir(path, { recursive: true });
  const deadline = performance.now() + timeout;
  for (let delay = FIRST_POLL_MS; ; delay = Math.min(delay * 2, MAX_POLL_MS)) {
    const lease = tryLease(deps, path, bits);
    if (lease) {
      await waitPast(deps.ids, lease.floor);
      return lease;
    }
    const left = deadline - performance.now();
    if (left <= 0) throw new LockTimeoutError(path, timeout);
    await sleep(Math.min(delay, left));
  }
}

/** One pass over the IDs, lowest first; never waits. */
function tryLease(deps: LeaseDeps, dir: string, bits: number): Lease | undefined {
  for (let id = 0; id < 2 ** bits; id++) {
    const lock = new deps.FileLock(join(dir, `worker-${id}.lock`));
    if (lock.tryAcquire()) return holdMark(deps.ids, dir, id, lock);
  }
  return undefined;
}

function holdMark(ids: IdBackend, dir: string, id: number, lock: FileLockBase): Lease {
  try {
    return new Lease(id, lock, ids.holdMark(id, join(dir, `worker-${id}.hwm`)));
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** Resolves once the generators' clock is past `floor` (when that is near). */
async function waitPast(ids: IdBackend, floor: number | undefined): Promise<void> {
  if (floor === undefined) return;
  for (let ahead = floor - ids.clockMs(); ahead >= 0 && ahead <= MAX_MARK_WAIT_MS; ahead = floor - ids.clockMs()) {
    await sleep(Math.floor(ahead) + 1);
  }
}
