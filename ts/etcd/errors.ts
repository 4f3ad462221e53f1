// The two failures that only a coordinator over the network has: a session lease that
// can no longer be proven alive, and a server that cannot be reached in bounded time.

/**
 * A lock, worker ID or session held through etcd was lost: the session lease could not
 * be proven alive by this client's own monotonic clock (last acknowledged keep-alive +
 * ttl), the server said it is gone, or the coordinator was closed. `code` `'ELEASELOST'`;
 * `name` is the lock or worker-ID name (undefined for the session itself).
 */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  readonly code = 'ELEASELOST';
  constructor(
    /** The lock or worker-ID name whose hold was lost; undefined for the whole session. */
    readonly lockName: string | undefined,
    /** Why, in words: "no keep-alive acknowledged within the ttl (1 s)", "the coordinator was closed", ... */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`ELEASELOST: ${lockName === undefined ? 'the etcd session' : `the hold of '${lockName}'`} was lost: ${reason}`, options);
  }

  /** The same loss, as seen by one hold of `lockName`. */
  forHold(lockName: string): LeaseLostError {
    return new LeaseLostError(lockName, this.reason, { cause: this.cause });
  }
}

/**
 * No etcd endpoint answered in time: a refused or closed port, a server that accepts
 * connections and never answers (after `callTimeout` / `dialTimeout`), or a cluster
 * without quorum. `code` `'ECOORDUNAVAIL'`; `endpoints` as configured; `cause` the
 * client's error (a gRPC error from etcd3).
 */
export class CoordinatorUnavailableError extends Error {
  override readonly name = 'CoordinatorUnavailableError';
  readonly code = 'ECOORDUNAVAIL';
  constructor(
    readonly endpoints: readonly string[],
    cause: unknown,
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`ECOORDUNAVAIL: etcd at ${endpoints.join(', ')} is unavailable: ${why}`, { cause });
  }
}
