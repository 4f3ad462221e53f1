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
