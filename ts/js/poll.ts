// Waiting by polling, for a fallback that has no kernel primitive to wait on.
// Delays grow exponentially with jitter, so waiters that started together drift apart
// instead of retrying in lockstep; the cap bounds how late a waiter notices a release.
import { abortError } from '../errors';

const FIRST_DELAY_MS = 1;
const MAX_DELAY_MS = 50;

/** Endless delays: 1, 2, 4 ... 50 ms, each drawn from [base / 2, base] ("equal jitter"). */
export function* backoffDelays(first = FIRST_DELAY_MS, max = MAX_DELAY_MS): Generator<number, never> {
  for (let base = first; ; base = Math.min(max, base * 2)) {
    yield base / 2 + (Math.random() * base) / 2;
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks this thread (the event loop too, on the main thread): the sync API's price. */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Resolves after `ms`; rejects at once with an AbortError when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Calls `attempt` until it returns true or `timeoutMs` passes (0: once). Blocks the thread. */
export function pollSync(attempt: () => boolean, timeoutMs: number): boolean {
  if (attempt()) return true;
  const deadline = performance.now() + timeoutMs;
  for (const delay of backoffDelays()) {
    const left = deadline - performance.now();
    if (left <= 0) return false;
    sleepSync(Math.min(delay, left));
    if (attempt()) return true;
  }
  return false;
}

/** Like `pollSync`, but sleeps on timers, so the event loop keeps running. */
export async function poll(attempt: () => boolean, timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (attempt()) return true;
  const deadline = performance.now() + timeoutMs;
  for (const delay of backoffDelays()) {
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await sleep(Math.min(delay, left), signal);
    if (attempt()) return true;
  }
  return false;
}
