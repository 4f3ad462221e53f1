// The few etcd v3 primitives the coordinator is built on, as an interface, so that the
// client library (etcd3 today) can be replaced by another gRPC client or etcd's JSON
// gateway without touching the recipes. Requests and responses are etcd's own protobuf
// messages (rpc.proto), as etcd3 types them. Every unary call has its own deadline and
// rejects with CoordinatorUnavailableError when no endpoint answers in time.
import type { IRangeRequest, IRangeResponse, ITxnRequest, ITxnResponse } from 'etcd3';

export type { ICompare, IKeyValue, IRangeRequest, IRangeResponse, ITxnRequest, ITxnResponse } from 'etcd3';

/** The server does not know the lease a call used (expired, revoked, or a wiped server). */
export class LeaseNotFoundError extends Error {
  constructor(cause: unknown) {
    super('etcd does not know the lease', { cause });
  }
}

export interface EtcdTransport {
  readonly endpoints: readonly string[];
  /** Requests sent so far: unary calls, keep-alive requests and watch creations (tests and benchmarks count them). */
  readonly requests: number;
  txn(request: ITxnRequest, timeoutMs: number): Promise<ITxnResponse>;
  range(request: IRangeRequest, timeoutMs: number): Promise<IRangeResponse>;
  /** A new lease; resolves to its ID (decimal) and the TTL the server granted (s). */
  grant(ttl: number, timeoutMs: number): Promise<{ id: string; ttl: number }>;
  /** Revokes a lease; a lease that is already gone is not an error. */
  revoke(id: string, timeoutMs: number): Promise<void>;
  /** A keep-alive stream for one lease; see `KeepAliveStream`. */
  keepAlive(id: string, events: KeepAliveEvents): KeepAliveStream;
  /**
   * Resolves when `key` (or, with `prefix`, any key under it) is deleted at or after
   * revision `from`, and also whenever the watch cannot go on (a broken stream, a
   * compacted revision): the caller then looks again. Never rejects. (A watch of one key
   * starts at the server's revision and reads the key once to cover what came before.)
   */
  watchDelete(key: Buffer, from: bigint, options: { prefix: boolean }): Watch;
  close(): void;
}

export interface KeepAliveEvents {
  /** The answer to one request, in request order; `ttl` 0 means the lease is gone. */
  ack(ttl: number): void;
  /** The stream failed or ended; requests not answered yet never will be. */
  broken(err: Error): void;
}

export interface KeepAliveStream {
  /** Sends one keep-alive request (queued until the stream is open); false once the stream is broken or closed. */
  send(): boolean;
  close(): void;
}

export interface Watch {
  readonly changed: Promise<void>;
  cancel(): void;
}
