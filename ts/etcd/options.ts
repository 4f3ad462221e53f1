// Checks of every option of the etcd entry point. They run before the client is even
// created, so a bad option never costs a network call, and throw Node's own codes.
import { invalidArgType, invalidArgValue, outOfRange } from '../errors';
import { toBoolean, toOptions, toSignal, toTimeout } from '../validate';

/** TLS material, passed to etcd3 (and so to gRPC's `createSsl`). */
export interface EtcdCredentials {
  rootCertificate: Buffer;
  privateKey?: Buffer;
  certChain?: Buffer;
}

/** Options of `EtcdCoordinator.connect`. */
export interface EtcdConnectOptions {
  /** The cluster's client URLs, `http://host:port` or `https://host:port` (all alike). Required. */
  endpoints: readonly string[];
  /** Prefix of every key this library writes. Ends with '/'. Default `'cfs/'`. */
  namespace?: string;
  /** Session lease, whole seconds >= 1 (the server may grant more). Default 10. */
  ttl?: number;
  /** Longest wait in ms for the first answer at `connect`. Default 5000. */
  dialTimeout?: number;
  /** Longest wait in ms for any later call. Default 5000. */
  callTimeout?: number;
  /** TLS: a root certificate, and a client key and certificate for mutual TLS. */
  credentials?: EtcdCredentials;
  /** etcd user and password. */
  auth?: { username: string; password: string };
  /** Cancels `connect`; it rejects with `AbortError`. */
  signal?: AbortSignal;
}

export interface ConnectSettings {
  endpoints: string[];
  namespace: string;
  ttl: number;
  dialTimeout: number;
  callTimeout: number;
  credentials: EtcdCredentials | undefined;
  auth: { username: string; password: string } | undefined;
  signal: AbortSignal | undefined;
}

/** A session longer than a day gains nothing and keeps every timer in range. */
const MAX_TTL_S = 86_400;
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export function toConnectSettings(options: unknown): ConnectSettings {
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
  const opts = toOptions(options);
  return {
    endpoints: toEndpoints(opts.endpoints),
    namespace: toNamespace(opts.namespace),
    ttl: toTtl(opts.ttl),
    dialTimeout: toCallTimeout(opts.dialTimeout, 'options.dialTimeout'),
    callTimeout: toCallTimeout(opts.callTimeout, 'options.callTimeout'),
    credentials: toCredentials(opts.credentials),
    auth: toAuth(opts.auth),
    signal: toSignal(opts.signal),
  };
}

function toEndpoints(value: unknown): string[] {
  if (!Array.isArray(value)) throw invalidArgType('options.endpoints', 'an instance of Array', value);
  if (value.length === 0) throw invalidArgValue('options.endpoints', value, 'must name at least one endpoint');
  const endpoints = value.map((entry, i) => toEndpoint(entry, `options.endpoints[${i}]`));
  const secure = endpoints.filter((url) => url.startsWith('https:')).length;
  if (secure !== 0 && secure !== endpoints.length) {
    throw invalidArgValue('options.endpoints', value, 'must be all http: or all https:');
  }
  return endpoints;
}

/** `http(s)://host:port`, normalised (no trailing slash); etcd's default port is 2379. */
function toEndpoint(value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidArgValue(name, value, "must be a URL such as 'http://127.0.0.1:2379'");
  }
  const bare = url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || !bare) {
    throw invalidArgValue(name, value, "must be 'http://host:port' or 'https://host:port'");
  }
  return `${url.protocol}//${url.hostname}:${url.port || '2379'}`;
}

function toNamespace(value: unknown): string {
  if (value === undefined) return 'cfs/';
  if (typeof value !== 'string') throw invalidArgType('options.namespace', 'of type string', value);
  if (!value.endsWith('/') || value === '/')
    throw invalidArgValue('options.namespace', value, "must be a non-empty prefix ending with '/'");
  return value;
}

function toTtl(value: unknown): number {
  if (value === undefined) return 10;
  if (typeof value !== 'number') throw invalidArgType('options.ttl', 'of type number', value);
  if (!Number.isInteger(value) || value < 1 || value > MAX_TTL_S) {
    throw outOfRange('options.ttl', `whole seconds >= 1 and <= ${MAX_TTL_S}`, value);
  }
  return value;
}

function toCallTimeout(value: unknown, name: string): number {
  if (value === undefined) return 5000;
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!(value > 0 && value <= MAX_TIMEOUT_MS)) throw outOfRange(name, `> 0 and <= ${MAX_TIMEOUT_MS} (ms)`, value);
  return value;
}

function toCredentials(value: unknown): EtcdCredentials | undefined {
  if (value === undefined) return undefined;
  const opts = toOptions(value, 'options.credentials');
  if (!Buffer.isBuffer(opts.rootCertificate)) {
    throw invalidArgType('options.credentials.rootCertificate', 'an instance of Buffer', opts.rootCertificate);
  }
  for (const key of ['privateKey', 'certChain'] as const) {
    if (opts[key] !== undefined && !Buffer.isBuffer(opts[key])) {
      throw invalidArgType(`options.credentials.${key}`, 'an instance of Buffer', opts[key]);
    }
  }
  return opts as unknown as EtcdCredentials;
}

function toAuth(value: unknown): { username: string; password: string } | undefined {
  if (value === undefined) return undefined;
  const opts = toOptions(value, 'options.auth');
  if (typeof opts.username !== 'string') throw invalidArgType('options.auth.username', 'of type string', opts.username);
  if (typeof opts.password !== 'string') throw invalidArgType('options.auth.password', 'of type string', opts.password);
  return { username: opts.username, password: opts.password };
}

/** A lock or worker-ID name: any non-empty string (its keys escape '/' and '%'). */
export function toName(value: unknown, name = 'name'): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
  if (value.length === 0) throw invalidArgValue(name, value, 'must be a non-empty string');
  return value;
}

/** Options of `coordinator.lock(name, options)`. */
export interface EtcdLockOptions {
  /** A shared (reader) lock: shared holders hold together, and exclude only exclusive ones (etcdctl's included). Default `false`. */
  shared?: boolean;
  /** Default wait of `acquire` in ms; `0` tries once. Default `Infinity`. */
  timeout?: number;
}

export function toLockSettings(options: unknown): { shared: boolean; timeout: number } {
  const opts = toOptions(options);
  return {
    shared: toBoolean(opts.shared, 'options.shared', false),
    timeout: toTimeout(opts.timeout, 'options.timeout', Number.POSITIVE_INFINITY),
  };
}
