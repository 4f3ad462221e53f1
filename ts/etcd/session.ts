// The session: one etcd lease per coordinator, kept alive every ttl/3 over a keep-alive
// stream, on which every lock key and worker-ID key of the coordinator lives.
//
// Whether the lease is alive is decided here, by this client's monotonic clock, never by
// the server's say-so or the wall clock: the server keeps a lease for ttl after it last
// heard a keep-alive, and it heard the last acknowledged one after we sent it, so the
// lease is certainly alive until (send time of the last acknowledged keep-alive) + ttl.
// At that deadline the session is lost: its signal aborts with LeaseLostError (at once,
// by a timer, and synchronously in `assertAlive`), and the lease is revoked, best effort,
// because a server may hold a lease longer than that (etcd re-extends every lease to its
// full ttl when a leader is elected, restarts included), and the next waiter should not
// wait out a second ttl.
import { LeaseLostError } from './errors';
import { leaseHex } from './keys';
import type { EtcdTransport, KeepAliveStream } from './transport';

export class Session {
  /** The lease ID, decimal, as etcd's API spells it. */
  readonly id: string;
  /** The lease ID in hex, as etcd's lock keys spell it. */
  readonly hex: string;
  /** The ttl the server granted, in ms. */
  readonly ttlMs: number;
  readonly #transport: EtcdTransport;
  readonly #callTimeout: number;
  readonly #controller = new AbortController();
  readonly #renewed = new Set<() => void>();
  /** performance.now() until which the lease is proven alive. */
  #deadline: number;
  #stream: KeepAliveStream | undefined;
  /** Send times of the requests on `#stream` not answered yet, oldest first. */
  #unanswered: number[] = [];
  #ticker: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** ms between keep-alives: ttl/3, as etcd's own clients do. */
  readonly #interval: number;
  #expiry: NodeJS.Timeout | undefined;

  /** Grants a lease of `ttl` seconds and keeps it alive. */
  static async open(transport: EtcdTransport, ttl: number, timeoutMs: number, callTimeout: number): Promise<Session> {
    const sentAt = performance.now();
    const granted = await transport.grant(ttl, timeoutMs);
    return new Session(transport, granted.id, granted.ttl * 1000, sentAt, callTimeout);
  }

  private constructor(transport: EtcdTransport, id: string, ttlMs: number, sentAt: number, callTimeout: number) {
    this.#transport = transport;
    this.#callTimeout = callTimeout;
    this.id = id;
    this.hex = leaseHex(id);
    this.ttlMs = ttlMs;
    this.#deadline = sentAt + ttlMs;
    this.#interval = Math.max(1, Math.floor(ttlMs / 3));
    this.#armExpiry();
    this.#stream = this.#openStream();
    // A live session keeps the process alive, as an open connection would: close() ends it.
    this.#ticker = setInterval(() => this.#keepAlive(), this.#interval);
  }

  /** Aborts with LeaseLostError when the lease is lost or the session closed. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** performance.now() until which the lease is proven alive. */
  get deadline(): number {
    return this.#deadline;
  }

  /** True while the lease is proven alive (it declares the loss at once if the deadline has passed). */
  get alive(): boolean {
    this.#checkDeadline();
    return !this.#controller.signal.aborted;
  }

  /** Throws the LeaseLostError if the lease is not proven alive. */
  assertAlive(): void {
    if (!this.alive) throw this.#controller.signal.reason;
  }

  /** Calls `fn` after each acknowledged keep-alive, until the returned function is called. */
  onRenewed(fn: () => void): () => void {
    this.#renewed.add(fn);
    return () => this.#renewed.delete(fn);
  }

  /** Declares the session lost now: stops the keep-alives, aborts the signal, revokes the lease (best effort). */
  lose(reason: string, cause?: unknown): void {
    if (!this.#stop(new LeaseLostError(undefined, reason, { cause }))) return;
    this.#transport.revoke(this.id, this.#callTimeout).catch(() => undefined);
  }

  /** Ends the session and revokes the lease, so everything on it is free at once. */
  async close(): Promise<void> {
    if (!this.#stop(new LeaseLostError(undefined, 'the coordinator was closed'))) return;
    await this.#transport.revoke(this.id, this.#callTimeout);
  }

  /** Stops everything; false if it was already stopped. */
  #stop(reason: LeaseLostError): boolean {
    if (this.#controller.signal.aborted) return false;
    clearInterval(this.#ticker);
    clearTimeout(this.#expiry);
    clearTimeout(this.#retry);
    this.#stream?.close();
    this.#stream = undefined;
    this.#renewed.clear();
    this.#controller.abort(reason);
    return true;
  }

  #keepAlive(): void {
    const now = performance.now();
    // A request unanswered for 1.5 intervals: the stream may be half-open (a dropped
    // connection nobody noticed). Start a new one.
    const oldest = this.#unanswered[0];
    if (oldest !== undefined && now - oldest > 1.5 * this.#interval) this.#dropStream();
    this.#stream ??= this.#openStream();
    if (this.#stream.send()) this.#unanswered.push(now);
  }

  #openStream(): KeepAliveStream {
    const stream: KeepAliveStream = this.#transport.keepAlive(this.id, {
      ack: (ttl) => {
        if (this.#stream === stream) this.#acknowledged(ttl);
      },
      broken: () => {
        if (this.#stream !== stream) return;
        this.#dropStream();
        // Try again soon (a restarted server), not only at the next interval.
        clearTimeout(this.#retry);
        this.#retry = setTimeout(() => this.#keepAlive(), Math.min(100, this.#interval / 2));
        this.#retry.unref();
      },
    });
    return stream;
  }

  #dropStream(): void {
    this.#stream?.close();
    this.#stream = undefined;
    this.#unanswered = [];
  }

  #acknowledged(ttl: number): void {
    const sentAt = this.#unanswered.shift();
    if (sentAt === undefined || this.#controller.signal.aborted) return;
    if (ttl <= 0) {
      this.lose('the server says the lease has expired');
      return;
    }
    this.#deadline = Math.max(this.#deadline, sentAt + ttl * 1000);
    this.#armExpiry();
    for (const fn of this.#renewed) fn();
  }

  /** A timer at the deadline (the deadline only moves later; a timer that fires before it re-arms). */
  #armExpiry(): void {
    clearTimeout(this.#expiry);
    const onTime = () => (performance.now() < this.#deadline ? this.#armExpiry() : this.#checkDeadline());
    this.#expiry = setTimeout(onTime, Math.max(0, Math.ceil(this.#deadline - performance.now())));
    this.#expiry.unref();
  }

  #checkDeadline(): void {
    if (this.#controller.signal.aborted || performance.now() < this.#deadline) return;
    this.lose(`no keep-alive was acknowledged within the lease's ttl (${this.ttlMs / 1000} s)`);
  }
}
