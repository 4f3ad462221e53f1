// EtcdCoordinator: one etcd client and one session lease, from which locks and worker-ID
// leases are made. `connect` checks every option before the client exists and proves
// the server is there by granting the first session (within `dialTimeout`).
import { abortError, invalidArgType, throwIfAborted } from '../errors';
import { toOptions } from '../validate';
import { createEtcd3Transport } from './etcd3-transport';
import { EtcdLock, type LockHost } from './lock';
import { type ConnectSettings, type EtcdConnectOptions, type EtcdLockOptions, toConnectSettings, toLockSettings, toName } from './options';
import { Session } from './session';
import type { EtcdTransport } from './transport';
import { type EtcdLeaseWorkerIdOptions, type EtcdWorkerLease, leaseWorkerIdOn } from './worker-lease';

/** Key of the test hook that reads how many requests a coordinator sent. Absent from the types and docs. */
const TEST_REQUESTS = Symbol.for('concurrent-fs.test.etcdRequests');

export class EtcdCoordinator {
  /** The endpoints, normalised (`http://host:port`). */
  readonly endpoints: readonly string[];
  readonly namespace: string;
  readonly #settings: ConnectSettings;
  readonly #transport: EtcdTransport;
  readonly #host: LockHost;
  #session: Session;
  #opening: Promise<Session> | undefined;
  #closed = false;
  #keys = 0;

  /** Connects to etcd: grants the session lease, so an unreachable server fails here (CoordinatorUnavailableError). */
  static async connect(options: EtcdConnectOptions): Promise<EtcdCoordinator> {
    const settings = toConnectSettings(options);
    throwIfAborted(settings.signal);
    const transport = createEtcd3Transport(settings);
    const opening = Session.open(transport, settings.ttl, settings.dialTimeout, settings.callTimeout);
    try {
      return new EtcdCoordinator(settings, transport, await abortable(opening, settings.signal));
    } catch (err) {
      // Aborted: a session granted after all is closed, and the client with it.
      opening
        .then(
          (session) => session.close(),
          () => undefined,
        )
        .catch(() => undefined)
        .finally(() => transport.close());
      throw err;
    }
  }

  private constructor(settings: ConnectSettings, transport: EtcdTransport, session: Session) {
    this.#settings = settings;
    this.#transport = transport;
    this.#session = session;
    this.endpoints = settings.endpoints;
    this.namespace = settings.namespace;
    this.#host = {
      transport,
      namespace: settings.namespace,
      callTimeout: settings.callTimeout,
      session: () => this.#liveSession(),
      nextKeyNumber: () => this.#keys++,
      workerLeases: new Set(),
    };
  }

  /** The session's ttl as the server granted it, in seconds. */
  get ttl(): number {
    return this.#session.ttlMs / 1000;
  }

  /** Aborts with LeaseLostError when the current session lease is lost (the next lock or lease opens a new one). */
  get signal(): AbortSignal {
    return this.#session.signal;
  }

  /** A lock on `name`, shared with every process using this etcd and namespace. */
  lock(name: string, options?: EtcdLockOptions): EtcdLock {
    const lockName = toName(name);
    const settings = toLockSettings(options);
    this.#refuseClosed();
    return new EtcdLock(this.#host, lockName, settings);
  }

  /** The lowest free worker ID of `name`, held on this coordinator's session. */
  async leaseWorkerId(name: string, options?: EtcdLeaseWorkerIdOptions): Promise<EtcdWorkerLease> {
    return leaseWorkerIdOn(this.#host, toName(name), toOptions(options));
  }

  /** Revokes the session: every lock and worker ID it holds is free at once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      // Worker IDs first, so that their marks say when minting stopped, not a ttl later.
      await Promise.allSettled([...this.#host.workerLeases].map((lease) => lease.end()));
      await this.#session.close();
    } finally {
      this.#transport.close();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #refuseClosed(): void {
    if (this.#closed) throw Object.assign(new Error('Invalid state: the EtcdCoordinator is closed'), { code: 'ERR_INVALID_STATE' });
  }

  /** The session, or a new one if it was lost (one grant at a time). */
  async #liveSession(): Promise<Session> {
    this.#refuseClosed();
    if (this.#session.alive) return this.#session;
    this.#opening ??= Session.open(this.#transport, this.#settings.ttl, this.#settings.callTimeout, this.#settings.callTimeout).finally(
      () => {
        this.#opening = undefined;
      },
    );
    const session = await this.#opening;
    if (this.#closed) {
      await session.close().catch(() => undefined);
      this.#refuseClosed();
    }
    this.#session = session;
    return session;
  }

  static {
    Object.defineProperty(EtcdCoordinator.prototype, TEST_REQUESTS, {
      get(this: EtcdCoordinator) {
        return this.#transport.requests;
      },
    });
  }
}

export function toCoordinator(value: unknown, name = 'options.coordinator'): EtcdCoordinator {
  if (!(value instanceof EtcdCoordinator)) throw invalidArgType(name, 'an instance of EtcdCoordinator', value);
  return value;
}

/** `work`, or an AbortError as soon as `signal` aborts (the work itself is not stopped). */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
