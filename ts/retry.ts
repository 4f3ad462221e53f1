// Exponential backoff with jitter, and `retry` built on it. Jitter keeps processes that
// failed together from retrying together (AWS Architecture Blog, "Exponential Backoff
// And Jitter"): 'full' draws from [0, base], 'equal' from [base/2, base].
import { abortError, invalidArgType, invalidArgValue, outOfRange, throwIfAborted } from './errors';
import { toIntegerIn, toOptions, toSignal } from './validate';

/** How a backoff delay is randomised: `'full'` uniform in [0, d], `'equal'` in [d/2, d], `'none'` exactly d. */
export type Jitter = 'full' | 'equal' | 'none';

/** Options of `backoffDelays`, and of the delays of `retry` and `optimisticUpdate`. */
export interface BackoffOptions {
  /** First delay in ms. Default 10. */
  initialDelay?: number;
  /** Cap on any delay in ms. Default 1000. */
  maxDelay?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Default `'full'`. */
  jitter?: Jitter;
  /** Source of uniform [0, 1) numbers, for reproducible delays. Default `Math.random`. */
  random?: () => number;
}

/** Options of `retry`: the backoff and when to stop. */
export interface RetryOptions extends BackoffOptions {
  /** Retries after the first call. Default 10. */
  retries?: number;
  /** Return false to stop retrying on this error. Default: retry every error. */
  shouldRetry?: (err: unknown) => boolean;
  /** Cancels the call (or its wait); it rejects with `AbortError` (`ABORT_ERR`). */
  signal?: AbortSignal;
}

const JITTERS: readonly Jitter[] = ['full', 'equal', 'none'];

/**
 * The longest delay Node's timers keep (about 24.8 days): setTimeout turns anything
 * longer into 1 ms, so every delay is clamped to it.
 */
export const MAX_DELAY_MS = 2 ** 31 - 1;

function nonNegative(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!(value >= 0)) throw outOfRange(name, '>= 0', value);
  return value;
}

/** Validated backoff settings: what `delays` draws from. */
export interface Backoff {
  initialDelay: number;
  maxDelay: number;
  factor: number;
  jitter: Jitter;
  random: () => number;
}

function toBackoff(options: Record<string, unknown>): Backoff {
  const jitter = options.jitter ?? 'full';
  if (!JITTERS.includes(jitter as Jitter)) throw invalidArgValue('options.jitter', jitter, "must be one of 'full', 'equal', 'none'");
  const random = options.random ?? Math.random;
  if (typeof random !== 'function') throw invalidArgType('options.random', 'of type function', random);
  return {
    initialDelay: nonNegative(options.initialDelay, 'options.initialDelay', 10),
    maxDelay: nonNegative(options.maxDelay, 'options.maxDelay', 1000),
    factor: nonNegative(options.factor, 'options.factor', 2),
    jitter: jitter as Jitter,
    random: random as () => number,
  };
}

/** The endless delays (ms) of `backoff`, unchecked: for callers whose settings are constants. */
export function* delays({ initialDelay, maxDelay, factor, jitter, random }: Backoff): Generator<number, never> {
  for (let k = 0; ; k++) {
    // 0 * Infinity is NaN once factor ** k overflows: an initial delay of 0 stays 0.
    const grown = initialDelay === 0 ? 0 : initialDelay * factor ** k;
    const base = Math.min(maxDelay, MAX_DELAY_MS, Number.isNaN(grown) ? 0 : grown);
    if (jitter === 'none') yield base;
    else if (jitter === 'equal') yield base / 2 + (random() * base) / 2;
    else yield random() * base;
  }
}

/** The endless sequence of delays (ms) between attempts. */
export function backoffDelays(options?: BackoffOptions): Iterable<number> {
  const backoff = toBackoff(toOptions(options));
  return { [Symbol.iterator]: () => delays(backoff) };
}

/** Resolves after `ms` (at most MAX_DELAY_MS), or rejects with an AbortError as soon as `signal` aborts. */
export function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const done = () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const timer = setTimeout(done, Math.min(ms, MAX_DELAY_MS));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function retryCount(value: unknown, name = 'options.retries'): number {
  if (value === undefined) return 10;
  return toIntegerIn(value, name, 0, Number.POSITIVE_INFINITY, 'an integer >= 0');
}

/** Calls `fn` up to `retries + 1` times, backing off between failures. */
export async function retry<T>(fn: (attempt: number) => T | Promise<T>, options?: RetryOptions): Promise<T> {
  if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn);
  const opts = toOptions(options);
  const retries = retryCount(opts.retries);
  const signal = toSignal(opts.signal);
  const shouldRetry = opts.shouldRetry ?? (() => true);
  if (typeof shouldRetry !== 'function') throw invalidArgType('options.shouldRetry', 'of type function', shouldRetry);
  const waits = delays(toBackoff(opts));
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(signal);
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= retries || !(shouldRetry as (e: unknown) => boolean)(err)) throw err;
    }
    await delay(waits.next().value, signal);
  }
}
