import { describe, expect, it } from 'vitest';
import { load } from './helpers/impls';

const { retry, backoffDelays } = load('native');

function take(iterable: Iterable<number>, n: number): number[] {
  const out: number[] = [];
  for (const value of iterable) {
    out.push(value);
    if (out.length === n) break;
  }
  return out;
}

describe('backoffDelays', () => {
  it("'none' is initialDelay * factor^k, capped at maxDelay", () => {
    expect(take(backoffDelays({ jitter: 'none' }), 9)).toEqual([10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    expect(take(backoffDelays({ jitter: 'none', initialDelay: 5, factor: 3, maxDelay: 100 }), 5)).toEqual([5, 15, 45, 100, 100]);
  });

  it("'full' is uniform in [0, base] and 'equal' in [base/2, base], from the injected random source", () => {
    const randoms = [0, 0.5, 0.999, 0.25];
    const source = () => randoms.shift() ?? 1;
    expect(take(backoffDelays({ jitter: 'full', random: source }), 4)).toEqual([0, 10, 39.96, 20]);
    const again = [0, 0.5, 1];
    expect(take(backoffDelays({ jitter: 'equal', random: () => again.shift()! }), 3)).toEqual([5, 15, 40]);
  });

  it('is full jitter by default, and never exceeds the cap', () => {
    const delays = take(backoffDelays({ maxDelay: 50 }), 200);
    expect(delays.every((d) => d >= 0 && d <= 50)).toBe(true);
    expect(new Set(delays).size).toBeGreaterThan(100);
  });

  it('never yields more than 2^31-1 ms, the longest timer Node keeps (longer ones fire after 1 ms)', () => {
    const longest = 2 ** 31 - 1;
    expect(take(backoffDelays({ jitter: 'none', initialDelay: 2 ** 31, maxDelay: 2 ** 40 }), 2)).toEqual([longest, longest]);
    expect(take(backoffDelays({ jitter: 'none', initialDelay: 1e9, maxDelay: Number.POSITIVE_INFINITY, factor: 10 }), 3)).toEqual([
      1e9,
      longest,
      longest,
    ]);
    expect(take(backoffDelays({ jitter: 'equal', random: () => 1, initialDelay: 1e300, maxDelay: Number.POSITIVE_INFINITY }), 1)).toEqual([
      longest,
    ]);
    // initialDelay 0 stays 0 even after factor ** k overflows to Infinity (0 * Infinity is NaN).
    const zeros = take(backoffDelays({ jitter: 'none', initialDelay: 0 }), 1100);
    expect(zeros.every((d) => d === 0)).toBe(true);
  });

  it('rejects bad options', () => {
    expect(() => backoffDelays({ jitter: 'some' as 'full' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => backoffDelays({ initialDelay: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });
});

describe('retry', () => {
  it('calls fn at most retries + 1 times with attempt numbers, then throws the last error', async () => {
    const attempts: number[] = [];
    const failing = retry(
      async (attempt) => {
        attempts.push(attempt);
        throw new Error(`fail ${attempt}`);
      },
      { retries: 3, initialDelay: 0 },
    );
    await expect(failing).rejects.toThrow('fail 3');
    expect(attempts).toEqual([0, 1, 2, 3]);
  });

  it('returns the first success, and stops when shouldRetry says so', async () => {
    expect(await retry(async (a) => (a < 2 ? Promise.reject(new Error('x')) : a), { initialDelay: 0 })).toBe(2);
    let calls = 0;
    const fatal = Object.assign(new Error('fatal'), { code: 'EFATAL' });
    await expect(
      retry(
        async () => {
          calls++;
          throw fatal;
        },
        { shouldRetry: (e) => (e as { code?: string }).code !== 'EFATAL', initialDelay: 0 },
      ),
    ).rejects.toBe(fatal);
    expect(calls).toBe(1);
  });

  it('a delay past 2^31-1 ms waits (clamped), instead of overflowing into a 1 ms timer', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const controller = new AbortController();
    let calls = 0;
    let failedOnce!: () => void;
    const firstFailure = new Promise<void>((resolve) => {
      failedOnce = resolve;
    });
    const pending = retry(
      async () => {
        calls++;
        failedOnce();
        throw new Error('transient');
      },
      { initialDelay: 2 ** 32, maxDelay: 2 ** 40, jitter: 'none', retries: 1, signal: controller.signal },
    );
    await firstFailure;
    // Not a sleep for synchronisation: timers fire in order of their due time, so an
    // overflowed 1 ms retry timer would run before this 50 ms one.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toBe(1);
    controller.abort('enough');
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    process.off('warning', onWarning);
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });

  it('an abort during a delay rejects at once, not at the end of the delay', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const pending = retry(
      async () => {
        setTimeout(() => controller.abort('stop'), 20);
        throw new Error('transient');
      },
      { initialDelay: 10_000, jitter: 'none', signal: controller.signal },
    );
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: 'stop' });
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
