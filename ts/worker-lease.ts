// leaseWorkerId: the lowest worker ID that no live process sharing a directory holds,
// held by an OS lock on `dir/worker-<id>.lock`, so it is freed when released or when
// the holder dies (SIGKILL included), with no stale-lease cleanup.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Backend } from './backend';
import { invalidArgType, LockTimeoutError, outOfRange } from './errors';
import { createLockApi, type FileLockBase } from './lock';
import { toOptions, toPath, toTimeout } from './validate';

export interface LeaseWorkerIdOptions {
  /** IDs come from [0, 2^bits). 1 to 16; default 10 (the twitter layout's worker field). */
  bits?: number;
  /** How long to wait (ms) when every ID is taken. Default 0: fail at once. */
  timeout?: number;
}

export interface WorkerLease {
  readonly id: number;
  /** Frees the ID for the next process. Calling it again does nothing. */
  release(): void;
  [Symbol.dispose](): void;
}

/** Scanning 2^bits lock files is fine up to 65536 (sonyflake's machine field). */
const MAX_LEASE_BITS = 16;

/** Poll delays (ms) while every ID is taken: quick at first, then gentle on the disk. */
const FIRST_POLL_MS = 2;
const MAX_POLL_MS = 100;

class Lease implements WorkerLease {
  #lock: FileLockBase | undefined;

  constructor(
    readonly id: number,
    lock: FileLockBase,
  ) {
    this.#lock = lock;
  }

  release(): void {
    const lock = this.#lock;
    this.#lock = undefined;
    lock?.release();
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

function toBits(value: unknown): number {
  if (value === undefined) return 10;
  if (typeof value !== 'number') throw invalidArgType('options.bits', 'of type number', value);
  if (!Number.isInteger(value) || value < 1 || value > MAX_LEASE_BITS) {
    throw outOfRange('options.bits', `an integer >= 1 and <= ${MAX_LEASE_BITS}`, value);
  }
  return value;
}

export function createLeaseApi(backend: Backend) {
  const { FileLock } = createLockApi(backend);

  /** One pass over the IDs, lowest first; never waits. */
  function tryLease(dir: string, bits: number): WorkerLease | undefined {
    for (let id = 0; id < 2 ** bits; id++) {
      const lock = new FileLock(join(dir, `worker-${id}.lock`));
      if (lock.tryAcquire()) return new Lease(id, lock);
    }
    return undefined;
  }

  async function leaseWorkerId(dir: string | URL, options?: LeaseWorkerIdOptions): Promise<WorkerLease> {
    const path = toPath(dir, 'dir');
    const opts = toOptions(options);
    const bits = toBits(opts.bits);
    const timeout = toTimeout(opts.timeout, 'options.timeout', 0);
    await mkdir(path, { recursive: true });
    const deadline = performance.now() + timeout;
    for (let delay = FIRST_POLL_MS; ; delay = Math.min(delay * 2, MAX_POLL_MS)) {
      const lease = tryLease(path, bits);
      if (lease) return lease;
      const left = deadline - performance.now();
      if (left <= 0) throw new LockTimeoutError(path, timeout);
      await sleep(Math.min(delay, left));
    }
  }

  return { leaseWorkerId };
}
