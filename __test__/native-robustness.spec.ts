// No panic ever crosses into Node, and no argument can hang or abort the process: the
// addon's exports fed wrong types and absurd values, each in a child process that must
// survive and exit by itself.
import { describe, expect, it } from 'vitest';
import { IMPLEMENTATIONS } from './helpers/impls';
import { runFixture, startNode } from './helpers/spawn';
import { tempDir } from './helpers/tmp';

describe.each(IMPLEMENTATIONS)('lock timeouts beyond what a Duration holds (%s)', (impl) => {
  // 1e300 ms is a valid timeout (a non-negative number); the native core once turned it
  // into a Rust panic (Duration::from_secs_f64 overflow): acquire failed with a
  // GenericFailure, and the async wait left a promise that kept the process alive.
  it('mean "wait as long as it takes": acquired when free, and after a release when held', async () => {
    const dir = tempDir();
    const child = startNode(
      `const cfs = require(process.env.IMPL === 'js' ? 'concurrent-fs/js' : 'concurrent-fs/native');
       const { join } = require('path');
       const free = new cfs.FileLock(join(process.env.DIR, 'free.lock'));
       for (const timeout of [1e300, Number.MAX_VALUE, 2 ** 64 * 1000]) { free.acquireSync({ timeout }); free.release(); }
       const holder = new cfs.FileLock(join(process.env.DIR, 'held.lock'));
       holder.acquireSync();
       const waiter = new cfs.FileLock(join(process.env.DIR, 'held.lock')).acquire({ timeout: 1e300 });
       console.log('waiting');
       process.stdin.once('data', async () => {
         holder.release();
         (await waiter).release();
         console.log('acquired');
         process.stdin.destroy();
       });`,
      { IMPL: impl, DIR: dir },
    );
    expect(await child.nextLine()).toBe('waiting');
    child.send('release');
    expect(await child.nextLine()).toBe('acquired');
    // It exits by itself: nothing left pending keeps it alive.
    expect(await child.exited).toMatchObject({ code: 0, stderr: '' });
  });
});

describe('the raw native binding', () => {
  it('survives every export fed wrong types and absurd values: each call returns or throws a JS Error, no panic', async () => {
    const dir = tempDir();
    const run = await runFixture('native-fuzz.cjs', [dir]);
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null });
    // A caught panic still prints through the panic hook: there must be none at all.
    expect(run.stderr).not.toContain('panicked');
    const { calls, violations } = JSON.parse(run.stdout) as { calls: number; violations: string[] };
    expect(violations).toEqual([]);
    expect(calls).toBeGreaterThan(800);
  });

  it('loads and works in 50 worker threads at once, survives terminated waiters, and the process exits cleanly', async () => {
    const dir = tempDir();
    const run = await runFixture('native-threads.cjs', [dir]);
    expect({ code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(JSON.parse(run.stdout)).toEqual({ worked: 40, terminated: 10, files: 40, problems: [], lockFreeAfter: true });
  });
});
