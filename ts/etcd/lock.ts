// EtcdLock: etcd's own mutex recipe (Go's `concurrency.Mutex`, which `etcdctl lock`
// uses), on the session lease, with the semantics of FileLock; shared holds follow
// etcd's readers-writer recipe (`recipes.RWMutex`) in the same queue.
//
// - Each lock object has its own key under the name's prefix, `<prefix><leaseHex>_<n>`
//   (shared: `<prefix>shared/<leaseHex>_<n>`), so two objects exclude each other even on
//   one session (two Go Mutexes on one session share a key and do not).
// - Acquire is one txn: if no key it must wait for exists, put the key (and it holds);
//   else create the key if absent and, in the same revision, read the newest keys it must
//   wait for. An exclusive key waits for every key (ours, etcdctl's, shared ones), a
//   shared key only for the writers' keys (all but the `shared/` folder). None before it:
//   it holds the lock. Its create revision is the fencing token: of two holds that
//   exclude each other, the later one has the higher token. (Range compares and nested
//   txns need etcd 3.3 or later.)
// - A waiter watches only the key it must wait for queued just before its own, for its
//   delete, then looks again in one txn that also proves its own key still exists (the
//   session did not expire while it waited: etcd-io/etcd#11456). Readers queued behind a
//   writer wait for it, so a waiting writer keeps later readers out (no writer starvation).
// - Release deletes the key in a txn guarded by its create revision, never a plain delete,
//   so a late or retried release cannot delete a newer incarnation (etcd-io/etcd#22082).
import { setTimeout as sleep } from 'node:timers/promises';
import { abortError, LockTimeoutError } from '../errors';
import { type AcquireLimits, type Join, joinPending, LockNotHeldError, startAcquire } from '../lock';
import { CoordinatorUnavailableError, LeaseLostError } from './errors';
import { lockKey, lockPrefix, prefixEnd, sharedLockPrefix } from './keys';
import type { Session } from './session';
import { type EtcdTransport, type ICompare, type IKeyValue, type IRangeRequest, LeaseNotFoundError } from './transport';
import { waitForChange } from './wait';

/** What a lock needs of its coordinator. */
export interface LockHost {
  readonly transport: EtcdTransport;
  readonly namespace: string;
  readonly callTimeout: number;
  /** The live session, a new one if the last was lost. */
  session(): Promise<Session>;
  /** A number no other lock object of this coordinator has. */
  nextKeyNumber(): number;
  /** The worker-ID leases held, which `close()` frees with their final marks before revoking the session. */
  readonly workerLeases: Set<{ end(): Promise<void> }>;
}

/** Options of `EtcdLock.acquire`. */
export interface EtcdAcquireOptions {
  /** Longest wait in ms; `0` tries once. Default: the lock's `timeout` (`Infinity`). */
  timeout?: number;
  /** Cancels the wait; it rejects with `AbortError` and leaves no key behind. */
  signal?: AbortSignal;
}

interface Hold {
  readonly session: Session;
  readonly key: Buffer;
  /** Create revision of the key, decimal: the fencing token. */
  readonly revision: string;
  readonly controller: AbortController;
  readonly unsubscribe: () => void;
}

/** Where a key stands in the queue: `ahead` is the key to wait for, none if it holds, null if not known yet. */
interface Place {
  readonly ahead: Buffer | undefined | null;
  /** The revision the answer was read at. */
  readonly header: bigint;
}

/** The value of an exclusive key (as etcdctl's) and of a shared one. */
const EXCLUSIVE_VALUE = Buffer.alloc(0);
const SHARED_VALUE = Buffer.from('shared');
const NEVER = new AbortController().signal;
/** Joins a pending acquire() of the same object as `waitForChange` does (no session to lose yet). */
const joinUnlessLost: Join = (pending, deadline, signal) => waitForChange(pending, deadline, signal, NEVER);
/** Pause before looking again after a failed look (a restarting server). */
const RETRY_LOOK_MS = 100;

/** A lock shared by every process of every machine using the same etcd, with `FileLock`'s shape. */
export class EtcdLock {
  readonly name: string;
  /** True for a shared (reader) lock: shared holders hold together and exclude only exclusive ones. */
  readonly shared: boolean;
  readonly #host: LockHost;
  readonly #prefix: string;
  /** The key ranges of the keys this lock waits for (see `rangesWaitedFor`). */
  readonly #waitsFor: readonly Span[];
  readonly #timeout: number;
  readonly #n: number;
  #count = 0;
  #hold: Hold | undefined;
  #signal: AbortSignal = NEVER;
  #pending: Promise<unknown> | undefined;

  /** @internal Use `coordinator.lock(name, options)`. */
  constructor(host: LockHost, name: string, settings: { shared: boolean; timeout: number }) {
    this.#host = host;
    this.name = name;
    this.shared = settings.shared;
    this.#timeout = settings.timeout;
    this.#prefix = lockPrefix(host.namespace, name);
    this.#waitsFor = rangesWaitedFor(this.#prefix, this.shared);
    this.#n = host.nextKeyNumber();
  }

  /** True while held and the session lease is proven alive; false from the moment the hold is lost. */
  get isLocked(): boolean {
    const hold = this.#hold;
    return this.#count > 0 && hold !== undefined && hold.session.alive && !hold.controller.signal.aborted;
  }

  /**
   * The hold's fencing token (its key's create revision), undefined when not held. Of two
   * holds that exclude each other the later has the higher token; shared holds held
   * together have unordered tokens.
   */
  get fencingToken(): bigint | undefined {
    return this.isLocked ? BigInt((this.#hold as Hold).revision) : undefined;
  }

  /** The etcd key of the hold (for txns of your own fenced by `Create(key) == fencingToken`), undefined when not held. */
  get key(): string | undefined {
    return this.isLocked ? (this.#hold as Hold).key.toString() : undefined;
  }

  /** Aborts with LeaseLostError when the current (or last) hold is lost. */
  get signal(): AbortSignal {
    return this.#signal;
  }

  /** Throws LeaseLostError if the hold was lost, LockNotHeldError if there is none. */
  assertHeld(): void {
    const hold = this.#hold;
    if (this.#count === 0 || hold === undefined) throw new LockNotHeldError(this.name);
    hold.session.alive; // declares a deadline that has passed
    if (hold.controller.signal.aborted) throw hold.controller.signal.reason;
  }

  /** Takes the lock if it is free now; never waits. */
  async tryAcquire(): Promise<boolean> {
    try {
      await this.acquire({ timeout: 0 });
      return true;
    } catch (err) {
      if (err instanceof LockTimeoutError) return false;
      throw err;
    }
  }

  /** Waits for the lock (re-entrant: a held lock counts up). */
  async acquire(options?: EtcdAcquireOptions): Promise<this> {
    const limits = startAcquire(options, this.#timeout);
    // One queue key per object: a second acquire() while the first waits joins it.
    await joinPending(() => (this.#count === 0 ? this.#pending : undefined), limits, this.name, joinUnlessLost);
    if (this.#count > 0) {
      this.assertHeld();
      this.#count++;
      return this;
    }
    const taking = this.#take(limits);
    this.#pending = taking;
    try {
      await taking;
    } finally {
      this.#pending = undefined;
    }
    return this;
  }

  /** Counts one hold down; at zero the key is deleted (guarded by its revision). */
  async release(): Promise<void> {
    if (this.#count === 0) throw new LockNotHeldError(this.name);
    this.#count--;
    if (this.#count > 0) return;
    const hold = this.#hold as Hold;
    this.#hold = undefined;
    hold.unsubscribe();
    await this.#forget(hold.session, hold.key, hold.revision);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#count > 0) await this.release();
  }

  async #take({ deadline, timeout, signal }: AcquireLimits): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const session = await this.#host.session();
      try {
        return await this.#queue(session, deadline, timeout, signal);
      } catch (err) {
        if (!(err instanceof LeaseNotFoundError)) throw err;
        // The server forgot the lease (expired unnoticed, or a wiped server): once, with a new one.
        session.lose('the server does not know the lease', err.cause);
        if (attempt > 0) throw new LeaseLostError(this.name, 'the server does not know the lease', { cause: err.cause });
      }
    }
  }

  /** Queues a key, waits until it is first, and holds. On any failure the key is deleted. */
  async #queue(session: Session, deadline: number, timeout: number, signal: AbortSignal | undefined): Promise<void> {
    const folder = this.shared ? sharedLockPrefix(this.#prefix) : this.#prefix;
    const key = Buffer.from(lockKey(folder, session.id, this.#n));
    const { revision, place } = await this.#enqueue(session, key);
    try {
      for (let { ahead, header } = place; ahead !== undefined; ) {
        if (performance.now() >= deadline) throw new LockTimeoutError(this.name, timeout);
        if (ahead !== null) await this.#waitForDelete(ahead, header, session, deadline, timeout, signal);
        ({ ahead, header } = await this.#lookAhead(session, key, revision, deadline, signal));
      }
      if (signal?.aborted) throw abortError(signal); // granted just as the caller gave up
      session.assertAlive();
    } catch (err) {
      await this.#forget(session, key, revision).catch(() => undefined);
      throw err instanceof LeaseLostError && err.lockName === undefined ? err.forHold(this.name) : err;
    }
    this.#holdFirst(session, key, revision);
  }

  /**
   * One txn. Nobody queued in the ranges this lock waits for (a range compare: etcd
   * compares an empty range against a zero KeyValue): the put alone, and the lock is
   * held, with nothing read back. Otherwise, in the same revision, a nested txn: create
   * the key unless it exists (a retried call), and read who is ahead of it.
   */
  async #enqueue(session: Session, key: Buffer): Promise<{ revision: string; place: Place }> {
    const put = { request_put: { key, value: this.shared ? SHARED_VALUE : EXCLUSIVE_VALUE, lease: session.id } };
    const res = await this.#host.transport.txn(
      {
        // Its own key too: a shared key is outside the ranges it waits for, and a retried
        // call must not put it again (that would move the revision, not the create revision).
        compare: [key, ...this.#waitsFor].map((span) => notCreated(span)),
        success: [put],
        failure: [
          {
            request_txn: {
              compare: [notCreated(key)],
              // The put is the newest revision, so the newest key waited for other than ours is the one ahead.
              success: [put, ...this.#newestWaitedFor(2)],
              failure: [{ request_range: { key } }],
            },
          },
        ],
      },
      this.#host.callTimeout,
    );
    const header = BigInt(res.header.revision);
    if (res.succeeded) return { revision: res.header.revision, place: { ahead: undefined, header } };
    const queued = res.responses[0]?.response_txn;
    if (queued === undefined) throw new Error(`etcd answered the queueing of '${key}' without its nested txn`);
    if (queued.succeeded) return { revision: res.header.revision, place: { ahead: newestKey(queued.responses.slice(1), key), header } };
    const existing = queued.responses[0]?.response_range.kvs[0];
    if (existing === undefined) throw new Error(`etcd answered a failed create of '${key}' without the key`);
    return { revision: existing.create_revision, place: { ahead: null, header } };
  }

  /** Range reads of the `limit` newest keys of each range this lock waits for, created at or before `maxCreate`. */
  #newestWaitedFor(limit: number, maxCreate?: bigint): { request_range: IRangeRequest }[] {
    return this.#waitsFor.map(({ key, range_end }) => ({
      request_range: {
        key,
        range_end,
        ...(maxCreate === undefined ? {} : { max_create_revision: maxCreate.toString() }),
        sort_target: 'Create',
        sort_order: 'Descend',
        limit,
        keys_only: true,
      },
    }));
  }

  /** One txn: if the key is still ours, the newest key created before it (none: it holds the lock). */
  async #lookAhead(session: Session, key: Buffer, revision: string, deadline: number, signal: AbortSignal | undefined): Promise<Place> {
    for (;;) {
      try {
        const res = await this.#host.transport.txn(
          {
            compare: [{ key, target: 'Create', result: 'Equal', create_revision: revision }],
            success: this.#newestWaitedFor(1, BigInt(revision) - 1n),
            failure: [],
          },
          this.#host.callTimeout,
        );
        if (!res.succeeded) {
          session.alive; // if the lease ran out, say so rather than blame the key
          session.assertAlive();
          throw new LeaseLostError(this.name, 'its key was deleted while it waited');
        }
        return { ahead: newestKey(res.responses, key), header: BigInt(res.header.revision) };
      } catch (err) {
        // A server that is restarting: the session (or the caller's deadline) decides how long to keep trying.
        if (!(err instanceof CoordinatorUnavailableError)) throw err;
        if (!(await waitForChange(sleep(RETRY_LOOK_MS), deadline, signal, session.signal))) throw err;
      }
    }
  }

  async #waitForDelete(
    ahead: Buffer,
    header: bigint,
    session: Session,
    deadline: number,
    timeout: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const watch = this.#host.transport.watchDelete(ahead, header + 1n, { prefix: false });
    try {
      if (!(await waitForChange(watch.changed, deadline, signal, session.signal))) throw new LockTimeoutError(this.name, timeout);
    } finally {
      watch.cancel();
    }
  }

  #holdFirst(session: Session, key: Buffer, revision: string): void {
    const controller = new AbortController();
    const onLost = () => controller.abort((session.signal.reason as LeaseLostError).forHold(this.name));
    session.signal.addEventListener('abort', onLost, { once: true });
    this.#hold = { session, key, revision, controller, unsubscribe: () => session.signal.removeEventListener('abort', onLost) };
    this.#signal = controller.signal;
    this.#count = 1;
  }

  /**
   * Deletes the key if it is still this incarnation. If that fails, the key would stay
   * as long as the session does: the session is given up instead, so it expires.
   */
  async #forget(session: Session, key: Buffer, revision: string): Promise<void> {
    if (session.signal.aborted) return; // revoked (or expiring) with its lease
    try {
      await this.#host.transport.txn(
        {
          compare: [{ key, target: 'Create', result: 'Equal', create_revision: revision }],
          success: [{ request_delete_range: { key } }],
          failure: [],
        },
        this.#host.callTimeout,
      );
    } catch (err) {
      session.lose(`a lock key could not be deleted (${(err as Error).message}); the lease was given up so that it expires`, err);
      throw err;
    }
  }
}

/** A key range, etcd style (`range_end` exclusive). */
interface Span {
  readonly key: Buffer;
  readonly range_end: Buffer;
}

/**
 * What a lock waits for: exclusive, every key of the prefix (readers, writers, etcdctl's);
 * shared, every key but the shared ones, i.e. the prefix around its `shared/` folder.
 */
function rangesWaitedFor(prefix: string, shared: boolean): Span[] {
  const all = Buffer.from(prefix);
  if (!shared) return [{ key: all, range_end: prefixEnd(all) }];
  const readers = Buffer.from(sharedLockPrefix(prefix));
  return [
    { key: all, range_end: readers },
    { key: prefixEnd(readers), range_end: prefixEnd(all) },
  ];
}

/** A compare that holds if the key, or every key of the range (none in an empty one), was never created. */
function notCreated(what: Buffer | Span): ICompare {
  const span = Buffer.isBuffer(what) ? { key: what } : what;
  return { ...span, target: 'Create', result: 'Equal', create_revision: 0 };
}

/** The key with the highest create revision among the ranges read, other than `own`. */
function newestKey(responses: readonly { response_range?: { kvs: IKeyValue[] } }[], own: Buffer): Buffer | undefined {
  let newest: IKeyValue | undefined;
  for (const kv of responses.flatMap((res) => res.response_range?.kvs ?? [])) {
    if (kv.key.equals(own)) continue;
    if (newest === undefined || BigInt(kv.create_revision) > BigInt(newest.create_revision)) newest = kv;
  }
  return newest?.key;
}
