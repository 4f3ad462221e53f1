// Locks under faults: a holder that is stopped (alive but not running), a holder killed
// while a child it started lives on, and a process with no descriptors left.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { FIXTURES, isAlive, runSync, start, startFixture } from './helpers/spawn';
import { tempDir } from './helpers/tmp';
import type { Impl } from './helpers/worker';

const LINUX = process.platform === 'linux';

/** Starts fixtures/lock-holder.cjs; resolves once it holds the lock, with its child's pid. */
async function startHolder(impl: Impl, path: string, withChild = false) {
  const holder = startFixture('lock-holder.cjs', [impl, path, withChild ? 'with-child' : '']);
  const line = await holder.nextLine();
  const exited = holder.exited.then(({ code, signal }) => ({ code, signal }));
  return { holder: holder.process, exited, childPid: Number(line.split(' ')[1]) };
}

describe.each(IMPLEMENTATIONS)('locks under faults (%s)', (impl) => {
  const cfs = load(impl);

  it('a SIGSTOPped holder: waiters time out (not early, not never), nothing is stolen; SIGCONT and release hands over', async () => {
    const path = join(tempDir(), 'a.lock');
    const { holder, exited } = await startHolder(impl, path);
    const marker = impl === 'js' ? readFileSync(path, 'utf8') : undefined;
    holder.kill('SIGSTOP');
    try {
      const timeout = 300;
      const waits = Array.from({ length: 3 }, async () => {
        const start = performance.now();
        const error = await new cfs.FileLock(path).acquire({ timeout }).then(
          () => undefined,
          (err: unknown) => err,
        );
        return { error, waited: performance.now() - start };
      });
      for (const { error, waited } of await Promise.all(waits)) {
        expect(error).toBeInstanceOf(cfs.LockTimeoutError);
        expect(waited).toBeGreaterThanOrEqual(timeout - 1);
        // A generous bound: the point is that the wait ends, not how fast.
        expect(waited).toBeLessThan(timeout + 10_000);
      }
      expect(() => new cfs.FileLock(path).acquireSync({ timeout: 100 })).toThrow(cfs.LockTimeoutError);
      expect(new cfs.FileLock(path).tryAcquire()).toBe(false);
      // The fallback must not judge a stopped (live) holder stale and break its marker.
      if (marker !== undefined) expect(readFileSync(path, 'utf8')).toBe(marker);
    } finally {
      holder.kill('SIGCONT');
    }
    const waiter = new cfs.FileLock(path).acquire({ timeout: 30_000 });
    holder.stdin.end();
    expect(await exited).toEqual({ code: 0, signal: null });
    (await waiter).release();
  });

  it('a holder SIGKILLed while a child it started lives on: the lock is free once the holder is gone', async () => {
    const path = join(tempDir(), 'a.lock');
    const { holder, exited, childPid } = await startHolder(impl, path, true);
    try {
      expect(isAlive(childPid)).toBe(true);
      expect(new cfs.FileLock(path).tryAcquire()).toBe(false);
      holder.kill('SIGKILL');
      expect((await exited).signal).toBe('SIGKILL');
      expect(isAlive(childPid)).toBe(true);
      // At once: the first try after the holder's exit succeeds, no wait.
      const lock = new cfs.FileLock(path);
      const first = lock.tryAcquire();
      if (first) lock.release();
      expect(first).toBe(true);
    } finally {
      if (isAlive(childPid)) process.kill(childPid, 'SIGKILL');
    }
  });

  // The control for the test above: flock(1) runs its command with the lock descriptor
  // inherited, so killing flock itself leaves the lock held by the child. The check
  // sees that; a lock descriptor without O_CLOEXEC would fail the test above the same way.
  it.runIf(impl === 'native' && LINUX && runSync(['flock', '--version']).code === 0)(
    'control: a holder whose child inherited the lock descriptor (flock(1)) keeps the lock after its death',
    async () => {
      const path = join(tempDir(), 'a.lock');
      const flock = start(['flock', '-x', path, process.execPath, '-e', 'console.log(process.pid); setInterval(() => {}, 1 << 30)']);
      const childPid = Number(await flock.nextLine());
      try {
        const exited = new Promise((resolve) => flock.process.on('exit', resolve)); // not 'close': the child keeps stdout open
        flock.process.kill('SIGKILL');
        await exited;
        expect(new cfs.FileLock(path).tryAcquire()).toBe(false);
      } finally {
        process.kill(childPid, 'SIGKILL');
      }
    },
  );

  it.runIf(LINUX)('no descriptors left (prlimit --nofile=64): every way to lock fails with EMFILE naming the path, nothing leaks', () => {
    const dir = tempDir();
    const run = runSync(['prlimit', '--nofile=64:64', process.execPath, join(FIXTURES, 'lock-emfile.cjs'), impl, dir]);
    expect(run.code, run.stderr).toBe(0);
    const results = JSON.parse(run.stdout) as Record<string, { ok: boolean; code: string; path: string; leaked: number }> & {
      afterwards: boolean;
    };
    const lock = join(dir, 'a.lock');
    expect(results).toEqual({
      tryAcquire: expect.objectContaining({ ok: false, code: 'EMFILE', path: lock, leaked: 0 }),
      acquireSync: expect.objectContaining({ ok: false, code: 'EMFILE', path: lock, leaked: 0 }),
      acquire: expect.objectContaining({ ok: false, code: 'EMFILE', path: lock, leaked: 0 }),
      acquireContended: expect.objectContaining({ ok: false, code: 'EMFILE', path: join(dir, 'held.lock'), leaked: 0 }),
      atomicWrite: expect.objectContaining({ ok: false, code: 'EMFILE', path: join(dir, 'data.json'), leaked: 0 }),
      afterwards: true,
    });
  });
});
