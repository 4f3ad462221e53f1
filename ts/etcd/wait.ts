// One wait of a lock or worker-ID waiter: for a change in etcd (a watch), bounded by the
// caller's deadline, cancelled by the caller's signal, and cut short by the session's loss.
import { abortError } from '../errors';

/** Resolves true when `changed` settles, false at `deadline` (performance.now() ms); rejects with an AbortError when `signal` aborts, or with the session's LeaseLostError when `lost` does. */
export function waitForChange(
  changed: Promise<unknown>,
  deadline: number,
  signal: AbortSignal | undefined,
  lost: AbortSignal,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    if (lost.aborted) return reject(lost.reason);
    const left = deadline - performance.now();
    if (left <= 0) return resolve(false);
    const done = (result: boolean | Error) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      lost.removeEventListener('abort', onLost);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onAbort = () => done(abortError(signal as AbortSignal));
    const onLost = () => done(lost.reason as Error);
    // setTimeout fires at once for delays over 2^31-1 ms; such a wait is forever here.
    const timer = left < 2 ** 31 ? setTimeout(() => done(false), Math.ceil(left)) : undefined;
    signal?.addEventListener('abort', onAbort, { once: true });
    lost.addEventListener('abort', onLost, { once: true });
    changed.then(
      () => done(true),
      () => done(true),
    );
  });
}
