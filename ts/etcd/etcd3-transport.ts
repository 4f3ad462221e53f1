// EtcdTransport over the etcd3 package (pure JS over @grpc/grpc-js), the optional peer
// dependency: the one module that loads it. Of etcd3 only the raw KV, Lease and Watch
// RPC clients are used, configured so that a silent server cannot hang a call: etcd3's
// own retry policy and circuit breaker are switched off (measured: with them a 2 s
// deadline still took 6 s) and every unary call gets a deadline of its own; retrying is
// done here, on UNAVAILABLE only, within that deadline. (etcd3 1.1 accepts a
// `dialTimeout` option but never reads it.) Txn and Range, the calls on every lock's
// path, are encoded by a protobuf codec of our own (kv-codec.ts) instead of etcd3's
// protobufjs one, and sent straight over node:http2 (grpc-unary.ts) to plain-text
// endpoints without auth; with TLS or auth they go through etcd3's connection (its host
// choice, TLS and auth metadata).
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as Etcd3Module from 'etcd3';
import { CoordinatorUnavailableError } from './errors';
import { GRPC_NOT_FOUND, GRPC_UNAVAILABLE, GrpcCallError, GrpcUnaryChannel } from './grpc-unary';
import { prefixEnd } from './keys';
import { decodeRangeResponse, decodeTxnResponse, encodeRangeRequest, encodeTxnRequest } from './kv-codec';
import type { ConnectSettings } from './options';
import {
  type EtcdTransport,
  type IRangeRequest,
  type IRangeResponse,
  type ITxnRequest,
  type ITxnResponse,
  type KeepAliveEvents,
  type KeepAliveStream,
  LeaseNotFoundError,
  type Watch,
} from './transport';

type Etcd3 = typeof Etcd3Module;
type CallOptions = { deadline: number };
type Duplex<Req, Res> = Etcd3Module.IDuplexStream<Req, Res>;

/** etcd3, or the error a user needs: what is missing and how to get it. */
function loadEtcd3(): Etcd3 {
  try {
    return require('etcd3') as Etcd3;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((err as Error).message).includes("'etcd3'");
    if (!missing) throw err;
    const message = "Cannot find package 'etcd3': concurrent-fs/etcd needs it (an optional peer dependency); run `npm install etcd3`";
    throw Object.assign(new Error(message), { code: 'ERR_MODULE_NOT_FOUND', cause: err });
  }
}

const etcd3 = loadEtcd3();
/** cockatiel as etcd3 itself resolves it (not necessarily hoisted next to us). */
const { noop } = createRequire(require.resolve('etcd3'))('cockatiel') as { noop: Policy };
type Policy = Exclude<NonNullable<Etcd3Module.IOptions['faultHandling']>['global'], undefined>;

/** etcd3's client, with its connection pool in reach (etcd3 keeps it protected). */
class PooledEtcd3 extends etcd3.Etcd3 {
  get connections(): Etcd3Module.ICallable<unknown> {
    return this.pool;
  }
}

/** Pauses between attempts after UNAVAILABLE (a restarting server, a refused port). */
const RETRY_PAUSES_MS = [10, 25, 50, 100, 200];
/** After a watch stream breaks, the waiter looks again after this pause, not in a spin. */
const BROKEN_WATCH_PAUSE_MS = 100;

export function createEtcd3Transport(settings: ConnectSettings): EtcdTransport {
  return new Etcd3Transport(settings);
}

class Etcd3Transport implements EtcdTransport {
  readonly endpoints: readonly string[];
  readonly #client: PooledEtcd3;
  /** The direct KV channel; undefined with TLS or auth, which etcd3's connection handles. */
  readonly #kvChannel: GrpcUnaryChannel | undefined;
  readonly #callTimeout: number;
  #requests = 0;

  constructor(settings: ConnectSettings) {
    this.endpoints = settings.endpoints;
    const { auth, credentials, callTimeout } = settings;
    this.#callTimeout = callTimeout;
    const plain = auth === undefined && credentials === undefined && settings.endpoints.every((url) => url.startsWith('http:'));
    this.#kvChannel = plain ? new GrpcUnaryChannel(settings.endpoints) : undefined;
    this.#client = new PooledEtcd3({
      hosts: settings.endpoints,
      ...(credentials && { credentials }),
      ...(auth && { auth: { ...auth, callOptions: () => ({ deadline: Date.now() + callTimeout }) } }),
      faultHandling: { host: () => noop, global: noop },
      // gRPC's default reconnect backoff grows to 120 s: a server back from a restart
      // would be ignored for minutes.
      grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 },
    });
  }

  get requests(): number {
    return this.#requests;
  }

  txn(request: ITxnRequest, timeoutMs: number): Promise<ITxnResponse> {
    return this.#unary(
      (options) => this.#kv('Txn', encodeTxnRequest, decodeTxnResponse, request, options, () => this.#client.kv.txn(request, options)),
      timeoutMs,
    );
  }

  range(request: IRangeRequest, timeoutMs: number): Promise<IRangeResponse> {
    return this.#unary(
      (options) =>
        this.#kv('Range', encodeRangeRequest, decodeRangeResponse, request, options, () => this.#client.kv.range(request, options)),
      timeoutMs,
    );
  }

  async grant(ttl: number, timeoutMs: number): Promise<{ id: string; ttl: number }> {
    const res = await this.#unary((options) => this.#client.leaseClient.leaseGrant({ TTL: ttl }, options), timeoutMs);
    return { id: res.ID, ttl: Number(res.TTL) };
  }

  async revoke(id: string, timeoutMs: number): Promise<void> {
    try {
      await this.#unary((options) => this.#client.leaseClient.leaseRevoke({ ID: id }, options), timeoutMs);
    } catch (err) {
      if (!(err instanceof LeaseNotFoundError)) throw err;
    }
  }

  keepAlive(id: string, events: KeepAliveEvents): KeepAliveStream {
    let stream: Duplex<Etcd3Module.ILeaseKeepAliveRequest, Etcd3Module.ILeaseKeepAliveResponse> | undefined;
    let closed = false;
    let queued = 0; // requests sent before the stream opened
    const broken = (err: Error) => {
      if (closed) return;
      closed = true;
      stream?.cancel();
      events.broken(err);
    };
    this.#client.leaseClient.leaseKeepAlive().then(
      (opened) => {
        opened.on('error', broken);
        if (closed) return opened.cancel();
        stream = opened;
        opened.on('data', (res) => {
          if (!closed) events.ack(Number(res.TTL));
        });
        opened.on('end', () => broken(new Error('the keep-alive stream ended')));
        for (; queued > 0; queued--) opened.write({ ID: id });
      },
      (err: Error) => broken(err),
    );
    return {
      send: () => {
        if (closed) return false;
        this.#requests++;
        if (stream) stream.write({ ID: id });
        else queued++;
        return true;
      },
      close: () => {
        closed = true;
        stream?.cancel();
      },
    };
  }

  watchDelete(key: Buffer, from: bigint, options: { prefix: boolean }): Watch {
    let settle: () => void = () => undefined;
    const changed = new Promise<void>((resolve) => {
      settle = resolve;
    });
    let stream: Duplex<Etcd3Module.IWatchRequest, Etcd3Module.IWatchResponse> | undefined;
    let done = false;
    const finish = (pauseMs = 0) => {
      if (done) return;
      done = true;
      stream?.cancel();
      if (pauseMs > 0) setTimeout(settle, pauseMs).unref();
      else settle();
    };
    const broken = () => finish(BROKEN_WATCH_PAUSE_MS);
    this.#requests++;
    this.#client.watchClient.watch().then((opened) => {
      opened.on('error', broken);
      if (done) return opened.cancel();
      stream = opened;
      opened.on('end', broken);
      opened.on('data', (res) => {
        // A canceled watch (its revision compacted, say) or any delete: look again.
        if (res.canceled || (res.events ?? []).some((event) => event.type === 'Delete')) finish();
        else if (res.created && !options.prefix) this.#checkIncarnation(key, from, finish);
      });
      // One key: watched from now (see #checkIncarnation). A prefix: from `from`.
      const range = options.prefix ? { range_end: prefixEnd(key), start_revision: from.toString() } : {};
      opened.write({ create_request: { key, ...range, filters: ['Noput'] } });
    }, broken);
    return { changed, cancel: () => finish() };
  }

  /**
   * A watch of one key starts at the server's current revision, and once it is created,
   * one range covers what happened before: the key gone, or there again as a newer
   * incarnation (created at or after `from`), ends the watch. Why not a watch from
   * `from`: etcd keeps a watch that starts behind its revision "unsynced" and delivers its
   * events only at its next sync of such watches, every 100 ms. Measured, a release that
   * landed in that gap reached its waiter 80-100 ms late in 9 handovers of 10, and in a
   * queue of 4 processes a waiter whose watch was created behind got its predecessor's
   * release that late too.
   */
  #checkIncarnation(key: Buffer, from: bigint, gone: () => void): void {
    this.range({ key, keys_only: true }, this.#callTimeout).then(
      (res) => {
        const kv = res.kvs[0];
        if (kv === undefined || BigInt(kv.create_revision) >= from) gone();
      },
      () => undefined, // the server is not answering: the watch breaks too, and the caller looks again
    );
  }

  close(): void {
    this.#kvChannel?.close();
    this.#client.close();
  }

  /**
   * One KV call with our codec: on the direct channel when there is one, else on
   * etcd3's connection to a host, where etcd3 casts its errors (UNAVAILABLE, lease not
   * found) as for its own calls. An expired auth token is the one error etcd3 handles
   * inside its own call path (it signs in again): that call is sent once more through
   * etcd3's own `kv` (`viaEtcd3`).
   */
  async #kv<Req, Res>(
    method: 'Txn' | 'Range',
    encode: (request: Req) => Buffer,
    decode: (bytes: Buffer) => Res,
    request: Req,
    options: CallOptions,
    viaEtcd3: () => Promise<Res>,
  ): Promise<Res> {
    const path = `/etcdserverpb.KV/${method}`;
    const channel = this.#kvChannel;
    if (channel !== undefined) return decode(await channel.call(path, encode(request), Math.max(1, options.deadline - Date.now())));
    try {
      return await this.#client.connections.withConnection(
        'KV',
        ({ client, metadata }) =>
          new Promise<Res>((resolve, reject) => {
            client.makeUnaryRequest(path, encode, decode, request, metadata, options, (err, res) =>
              err ? reject(err) : resolve(res as Res),
            );
          }),
      );
    } catch (err) {
      if (err instanceof etcd3.EtcdInvalidAuthTokenError) return viaEtcd3();
      throw err;
    }
  }

  /** One unary call with a deadline `timeoutMs` away, retried on UNAVAILABLE while time is left. */
  async #unary<T>(call: (options: CallOptions) => Promise<T>, timeoutMs: number): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      this.#requests++;
      try {
        return await call({ deadline: Date.now() + Math.max(1, deadline - performance.now()) });
      } catch (err) {
        if (isLeaseNotFound(err)) throw new LeaseNotFoundError(err);
        const pause = RETRY_PAUSES_MS[Math.min(attempt, RETRY_PAUSES_MS.length - 1)] as number;
        if (!isUnavailable(err) || deadline - performance.now() <= pause) {
          throw new CoordinatorUnavailableError(this.endpoints, err);
        }
        await sleep(pause);
      }
    }
  }
}

/** etcd's "requested lease not found", from etcd3 or from the direct channel. */
function isLeaseNotFound(err: unknown): boolean {
  if (err instanceof etcd3.EtcdLeaseInvalidError) return true;
  return err instanceof GrpcCallError && err.code === GRPC_NOT_FOUND && err.details.includes('lease not found');
}

/** No endpoint answered (refused, reset, restarting): worth another try while time is left. */
function isUnavailable(err: unknown): boolean {
  return err instanceof etcd3.GRPCUnavailableError || (err instanceof GrpcCallError && err.code === GRPC_UNAVAILABLE);
}
