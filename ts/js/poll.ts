// Waiting by polling, for a fallback that has no kernel primitive to wait on: lock waits,
// and renames that Windows refuses while another process has the target open.
// Delays grow exponentially with jitter, so waiters that started together drift apart
// instead of retrying in lockstep; the cap bounds how late a waiter notices a release.
import { delay, delays } from '../retry';

/** Endless delays: 1, 2, 4 ... 50 ms, each drawn from [base / 2, base] ("equal jitter"). */
export function pollDelays(): Generator<number, never> {
  return delays({ initialDelay: 1, maxDelay: 50, factor: 2, jitter: 'equal', random: Math.random });
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks this thread (the event loop too, on the main thread): the sync API's price. */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Calls `attempt` until it returns true or `timeoutMs` passes (0: once). Blocks the thread. */
export function pollSync(attempt: () => boolean, timeoutMs: number): boolean {
  if (attempt()) return true;
  const deadline = performance.now() + timeoutMs;
  for (const wait of pollDelays()) {
    const left = deadline - performance.now();
    if (left <= 0) return false;
    sleepSync(Math.min(wait, left));
    if (attempt()) return true;
  }
  return false;
}

/** Like `pollSync`, but sleeps on timers, so the event loop keeps running; `attempt` may be async. */
export async function poll(
  attempt: () => boolean | Promise<boolean>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  if (await attempt()) return true;
  const deadline = performance.now() + timeoutMs;
  for (const wait of pollDelays()) {
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await delay(Math.min(wait, left), signal);
    if (await attempt()) return true;
  }
  return false;
}
