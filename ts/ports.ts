// leasePort: a TCP port for a dev server, leased like a worker ID. The lease is a kernel
// lock on `dir/port-<n>.lock` held for as long as the lease lives, so every process
// sharing `dir` gets a different port, and a holder that dies (SIGKILL included) gives its
// port back at once: no TTL, no path hash. A port some other program already listens on
// is skipped: after taking the lock, the port is bound once on 127.0.0.1 and closed again
// (a probe without the lock would race other leasers; under it, only foreign programs
// can take the port meanwhile, which no file lock can prevent).
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { invalidArgType, LockTimeoutError, outOfRange, throwIfAborted } from './errors';
import { HeldLock } from './held-lock';
import type { FileLockBase, FileLockConstructor } from './lock';
import { delay } from './retry';
import { toOptions, toPath, toSignal, toTimeout } from './validate';

/** Options of `leasePort`; only `dir` is required. */
export interface LeasePortOptions {
  /** Directory of the leases, shared by every process that must get distinct ports. */
  dir: string | URL;
  /** First and last port, both included. Default [3000, 3999]. */
  range?: [number, number];
  /** How long to wait (ms) when every port is taken. Default 0: fail at once. */
  timeout?: number;
  /** Cancels the call (or its wait); it rejects with `AbortError` (`ABORT_ERR`). */
  signal?: AbortSignal;
}

/** A port held by this process (`port`) until `release()` or exit; `using` frees it at scope end. */
export interface PortLease {
  /** The leased TCP port, within the `range` asked for; it could be bound on 127.0.0.1 when leased. */
  readonly port: number;
  /** Frees the port for the next leaseholder. Calling it again does nothing. */
  release(): void;
  /** `release()`, for `using`. */
  [Symbol.dispose](): void;
  /** `release()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_RANGE: [number, number] = [3000, 3999];
/** Poll delays (ms) while every port is taken: a dead holder frees its lock without any event. */
const FIRST_POLL_MS = 2;
const MAX_POLL_MS = 100;

function toRange(value: unknown): [number, number] {
  if (value === undefined) return DEFAULT_RANGE;
  if (!Array.isArray(value) || value.length !== 2) throw invalidArgType('options.range', 'an array [first, last]', value);
  for (const [i, port] of value.entries()) {
    if (typeof port !== 'number') throw invalidArgType(`options.range[${i}]`, 'of type number', port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw outOfRange(`options.range[${i}]`, 'an integer >= 1 and <= 65535', port);
  }
  const [first, last] = value as [number, number];
  if (first > last) throw outOfRange('options.range[1]', `>= options.range[0] (${first})`, last);
  return [first, last];
}

/** Whether a listener can bind 127.0.0.1:port right now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

class Lease extends HeldLock implements PortLease {
  constructor(
    readonly port: number,
    lock: FileLockBase,
  ) {
    super(lock);
  }
  [Symbol.dispose](): void {
    this.release();
  }
  async [Symbol.asyncDispose](): Promise<void> {
    this.release();
  }
}

/** One pass over the range, lowest first; never waits for a lock. */
async function tryLease(FileLock: FileLockConstructor, dir: string, [first, last]: [number, number]): Promise<PortLease | undefined> {
  for (let port = first; port <= last; port++) {
    const lock = new FileLock(join(dir, `port-${port}.lock`));
    if (!lock.tryAcquire()) continue; // a live leaseholder has it
    if (await canBind(port)) return new Lease(port, lock);
    lock.release(); // a foreign program listens there
  }
  return undefined;
}

/** `leasePort` with the FileLock class given. */
async function leasePortWith(FileLock: FileLockConstructor, options: LeasePortOptions): Promise<PortLease> {
  const opts = toOptions(options);
  const dir = resolve(toPath(opts.dir, 'options.dir'));
  const range = toRange(opts.range);
  const timeout = toTimeout(opts.timeout, 'options.timeout', 0);
  const signal = toSignal(opts.signal);
  throwIfAborted(signal);
  await mkdir(dir, { recursive: true });
  const deadline = performance.now() + timeout;
  for (let poll = FIRST_POLL_MS; ; poll = Math.min(poll * 2, MAX_POLL_MS)) {
    const lease = await tryLease(FileLock, dir, range);
    if (lease) return lease;
    const left = deadline - performance.now();
    if (left <= 0) throw new LockTimeoutError(dir, timeout);
    await delay(Math.min(poll, left), signal);
  }
}

/** Binds `leasePort` to the FileLock class of an implementation. */
export function createPortApi(deps: { FileLock: FileLockConstructor }) {
  /** The lowest port of `range` that no live leaseholder sharing `dir` has and that is free to bind now. */
  function leasePort(options: LeasePortOptions): Promise<PortLease> {
    return leasePortWith(deps.FileLock, options);
  }

  return { leasePort };
}
