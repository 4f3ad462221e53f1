// Worker IDs leased through etcd: `<ns>workers/<name>/<id>` on the session lease, the
// lowest ID absent from one keys-only range, created only if absent (Create == 0).
//
// The ID's high-water mark travels with it, in `<ns>worker-marks/<name>/<id>` (no lease,
// so it outlives its holders): a Unix ms no ID under this worker ID carries a later
// time than. While held it is a reservation, the generators' clock + ttl, rewritten
// after every acknowledged keep-alive (guarded by the ID key's create revision, so only
// the holder writes it), and the lease lets a Snowflake mint only until the last
// reservation the server acknowledged runs out (and never past the session's proven
// life); at release it is the time of release. A new holder waits until its clock has
// passed the mark it found, so a worker ID's IDs never repeat across holders, even from
// a machine whose clock is behind (by up to MAX_CLOCK_BEHIND_MS; more is refused with
// ClockBackwardsError rather than waited out).
import { setTimeout as sleep } from 'node:timers/promises';
import { ClockBackwardsError, LockTimeoutError } from '../errors';
import { processMicros } from '../js/ids/clock';
import { toLeaseBits, toTimeout } from '../validate';
import { LeaseLostError } from './errors';
import { markKey, prefixEnd, workerPrefix } from './keys';
import type { LockHost } from './lock';
import type { Session } from './session';
import { type IKeyValue, LeaseNotFoundError } from './transport';
import { waitForChange } from './wait';

/** Options of `leaseWorkerId(name, { coordinator, ... })`. */
export interface EtcdLeaseWorkerIdOptions {
  /** IDs come from [0, 2^bits). 1 to 16; default 10 (the twitter layout's worker field). */
  bits?: number;
  /** How long to wait (ms) when every ID is taken. Default 0: fail at once. */
  timeout?: number;
}

/**
 * A mark at most ttl + this far ahead of this clock is waited out (a holder that stopped
 * without writing its final mark leaves a reservation up to a ttl ahead); further means
 * this clock is behind the last holder's.
 */
const MAX_CLOCK_BEHIND_MS = 1000;
/** Reservations end this much before their mark, for the clocks' sub-ms differences. */
const MARGIN_MS = 2;
const EMPTY = Buffer.alloc(0);

/**
 * The generators' clock (Unix ms): the wall clock at first use, advanced by the monotonic
 * one. The fallback's reading of it, pure JavaScript (this entry loads no addon); the
 * addon anchors its own the same way, both to well under MARGIN_MS of the wall clock.
 */
function clockMs(): number {
  return processMicros() / 1000;
}

export async function leaseWorkerIdOn(host: LockHost, name: string, options: Record<string, unknown>): Promise<EtcdWorkerLease> {
  const bits = toLeaseBits(options.bits);
  const timeout = toTimeout(options.timeout, 'options.timeout', 0);
  const deadline = performance.now() + timeout;
  for (let attempt = 0; ; attempt++) {
    const session = await host.session();
    try {
      return await claim(host, session, name, 2 ** bits, deadline, timeout);
    } catch (err) {
      if (!(err instanceof LeaseNotFoundError)) throw err;
      session.lose('the server does not know the lease', err.cause);
      if (attempt > 0) throw new LeaseLostError(name, 'the server does not know the lease', { cause: err.cause });
    }
  }
}

async function claim(
  host: LockHost,
  session: Session,
  name: string,
  count: number,
  deadline: number,
  timeout: number,
): Promise<EtcdWorkerLease> {
  const prefix = Buffer.from(workerPrefix(host.namespace, name));
  for (;;) {
    const taken = await host.transport.range({ key: prefix, range_end: prefixEnd(prefix), keys_only: true }, host.callTimeout);
    const id = lowestFree(taken.kvs, prefix.length, count);
    if (id === undefined) {
      if (performance.now() >= deadline) throw new LockTimeoutError(name, timeout);
      const watch = host.transport.watchDelete(prefix, BigInt(taken.header.revision) + 1n, { prefix: true });
      try {
        if (!(await waitForChange(watch.changed, deadline, undefined, session.signal))) throw new LockTimeoutError(name, timeout);
      } finally {
        watch.cancel();
      }
      continue;
    }
    const key = Buffer.concat([prefix, Buffer.from(String(id))]);
    const mark = Buffer.from(markKey(host.namespace, name, id));
    const res = await host.transport.txn(
      {
        compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key, value: EMPTY, lease: session.id } }, { request_range: { key: mark } }],
        failure: [],
      },
      host.callTimeout,
    );
    if (!res.succeeded) continue; // taken since the range: look again
    const lease = new EtcdWorkerLease(host, session, { name, id, key, mark, revision: res.header.revision });
    try {
      await waitPast(readMark(res.responses[1]?.response_range.kvs[0]), session.ttlMs + MAX_CLOCK_BEHIND_MS);
      await lease.reserve();
      lease.assertHeld();
    } catch (err) {
      await lease.abandon().catch(() => undefined);
      throw err;
    }
    return lease;
  }
}

function lowestFree(kvs: IKeyValue[], prefixLength: number, count: number): number | undefined {
  const taken = new Set<number>();
  for (const kv of kvs) {
    const suffix = kv.key.subarray(prefixLength).toString();
    if (/^\d+$/.test(suffix)) taken.add(Number(suffix));
  }
  for (let id = 0; id < count; id++) if (!taken.has(id)) return id;
  return undefined;
}

function readMark(kv: IKeyValue | undefined): number | undefined {
  const mark = kv === undefined ? Number.NaN : Number(kv.value.toString());
  return Number.isFinite(mark) ? mark : undefined;
}

/** Resolves once the clock is past `floor`; throws ClockBackwardsError if that is more than `maxWait` ms away. */
async function waitPast(floor: number | undefined, maxWait: number): Promise<void> {
  if (floor === undefined) return;
  for (let ahead = floor + MARGIN_MS - clockMs(); ahead >= 0; ahead = floor + MARGIN_MS - clockMs()) {
    if (ahead > maxWait + MARGIN_MS) throw new ClockBackwardsError(ahead);
    await sleep(Math.ceil(ahead) + 1);
  }
}

interface Claimed {
  name: string;
  id: number;
  key: Buffer;
  mark: Buffer;
  /** The ID key's create revision, decimal. */
  revision: string;
}

/** A worker ID held through etcd; pass it as a Snowflake's `workerId` and the generator stops minting when it is lost. */
export class EtcdWorkerLease {
  readonly id: number;
  readonly name: string;
  readonly #host: LockHost;
  readonly #session: Session;
  readonly #claimed: Claimed;
  readonly #controller = new AbortController();
  readonly #stopRenewing: () => void;
  readonly #onSessionLost: () => void;
  /** performance.now() until which the last acknowledged reservation covers minting. */
  #reservedUntil = Number.NEGATIVE_INFINITY;
  #released = false;
  #timer: NodeJS.Timeout | undefined;

  /** @internal Use `leaseWorkerId`. */
  constructor(host: LockHost, session: Session, claimed: Claimed) {
    this.#host = host;
    this.#session = session;
    this.#claimed = claimed;
    this.id = claimed.id;
    this.name = claimed.name;
    this.#onSessionLost = () => this.#lose((session.signal.reason as LeaseLostError).forHold(this.name));
    session.signal.addEventListener('abort', this.#onSessionLost, { once: true });
    this.#stopRenewing = session.onRenewed(() => {
      this.reserve().catch(() => undefined);
    });
    host.workerLeases.add(this);
  }

  /** Aborts with LeaseLostError when the ID can no longer be proven held. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** performance.now() time until which IDs may be minted under this lease (in the past once lost or released). */
  get validUntil(): number {
    if (this.#released || this.#controller.signal.aborted) return Number.NEGATIVE_INFINITY;
    return Math.min(this.#session.deadline, this.#reservedUntil);
  }

  /** Throws LeaseLostError unless the ID is held and may be minted under now. A Snowflake calls it before every ID. */
  assertHeld(): void {
    if (!this.#released && !this.#controller.signal.aborted && performance.now() >= this.validUntil) this.#expire();
    if (this.#controller.signal.aborted) throw this.#controller.signal.reason;
    if (this.#released) throw new LeaseLostError(this.name, `worker ID ${this.id} was released`);
  }

  /** Frees the ID (its mark keeps the time of release). Calling it again does nothing. */
  async release(): Promise<void> {
    await this.#give(true);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  /** @internal At `close()`: frees the ID with its final mark, and aborts the signal (the holder must stop). */
  async end(): Promise<void> {
    const release = this.#give(true);
    this.#controller.abort(new LeaseLostError(this.name, 'the coordinator was closed'));
    await release;
  }

  /** @internal Frees the ID without touching its mark (nothing was minted under it). */
  async abandon(): Promise<void> {
    await this.#give(false);
  }

  /** @internal Writes the next reservation, the clock + ttl, if the ID key is still this one. */
  async reserve(): Promise<void> {
    if (this.#released || this.#controller.signal.aborted) return;
    const { key, mark, revision } = this.#claimed;
    const sentAt = performance.now();
    const until = Math.ceil(clockMs() + this.#session.ttlMs);
    const res = await this.#host.transport.txn(
      {
        compare: [{ key, target: 'Create', result: 'Equal', create_revision: revision }],
        success: [{ request_put: { key: mark, value: Buffer.from(String(until)) } }],
        failure: [],
      },
      this.#host.callTimeout,
    );
    if (!res.succeeded) {
      this.#lose(new LeaseLostError(this.name, `the key of worker ID ${this.id} is gone`));
      return;
    }
    this.#reservedUntil = Math.max(this.#reservedUntil, sentAt + this.#session.ttlMs - MARGIN_MS);
    this.#armTimer();
  }

  #armTimer(): void {
    clearTimeout(this.#timer);
    const left = this.validUntil - performance.now();
    if (!Number.isFinite(left)) return;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, Math.ceil(left)));
    this.#timer.unref();
  }

  #onTimer(): void {
    if (this.#released || this.#controller.signal.aborted) return;
    if (performance.now() < this.validUntil) this.#armTimer();
    else this.#expire();
  }

  #expire(): void {
    this.#session.alive; // a session past its deadline says so first
    this.#lose(new LeaseLostError(this.name, `the reservation of worker ID ${this.id} ran out before etcd acknowledged the next`));
  }

  #lose(reason: LeaseLostError): void {
    if (this.#controller.signal.aborted) return;
    this.#stop();
    this.#controller.abort(reason);
    // The ID key would stay as long as the session: free it. Minting stopped at
    // validUntil, so the time now is a final mark (if this write fails, the mark keeps
    // the reservation, which is later still).
    if (!this.#session.signal.aborted) this.release().catch(() => undefined);
  }

  #stop(): void {
    this.#host.workerLeases.delete(this);
    clearTimeout(this.#timer);
    this.#stopRenewing();
    this.#session.signal.removeEventListener('abort', this.#onSessionLost);
  }

  async #give(writeMark: boolean): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#stop();
    if (this.#session.signal.aborted) return; // gone with the lease
    const { key, mark, revision } = this.#claimed;
    const finalMark = { request_put: { key: mark, value: Buffer.from(String(Math.ceil(clockMs()))) } };
    try {
      await this.#host.transport.txn(
        {
          compare: [{ key, target: 'Create', result: 'Equal', create_revision: revision }],
          success: [...(writeMark ? [finalMark] : []), { request_delete_range: { key } }],
          failure: [],
        },
        this.#host.callTimeout,
      );
    } catch (err) {
      this.#session.lose(
        `worker ID ${this.id} could not be freed (${(err as Error).message}); the lease was given up so that it expires`,
        err,
      );
      throw err;
    }
  }
}
